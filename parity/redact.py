"""Redaction: secrets out of any text parity prints, logs or stores, and passwords out of URLs it shows.

`redact(text, secrets)` replaces every form in which a secret can reappear in someone else's words: the whole
value and, for a URL, its path, every tail of the path, each long path segment, its query and each query value,
its userinfo and password; each of those raw, percent-encoded (`/` kept or not, `+` for space) and percent-decoded, matched without regard to case. Pieces of a URL shorter than 4 characters are
left alone (they identify nothing); the whole value is always scrubbed. `redact_url(url)` is a URL as parity shows it: the
password of its userinfo and the value of every password-like query parameter (`password`, `sslpassword`, ...)
replaced by `***`. `url_secrets(url)` lists those values, for `redact` to scrub from the errors a driver
raised about that URL.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable

HIDDEN = "***"
_PIECE = 4  # a shorter piece of a URL (`T0`, `x=1`) says nothing of the secret and would garble the text
_SEGMENT = 8  # a path segment this long may be a token on its own (`services` is as short as one gets)
_SECRET_KEYS = re.compile(r"pass|secret|token|key", re.IGNORECASE)  # query parameters that hold a secret


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every form of each of `secrets` replaced by `***`."""
    forms = {form for secret in secrets if secret for form in _forms(secret)}
    if not forms:
        return text
    pattern = "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True))
    return re.sub(pattern, HIDDEN, text, flags=re.IGNORECASE)


def redact_url(url: str) -> str:
    """`url` with the password of its userinfo and the values of password-like query parameters as `***`."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket: nothing in it can be told apart from a password
        return f"(a URL that cannot be parsed, not shown: {len(url)} characters)"
    shown = url
    if "@" in parts.netloc:
        userinfo, host = parts.netloc.rsplit("@", 1)
        if ":" in userinfo:
            shown = shown.replace(parts.netloc, f"{userinfo.split(':', 1)[0]}:{HIDDEN}@{host}", 1)
    if parts.query:
        base, _, rest = shown.partition("?")
        _, hash_, fragment = rest.partition("#")
        query = "&".join(_hide_value(pair) for pair in parts.query.split("&"))
        shown = f"{base}?{query}{hash_}{fragment}"
    return shown


def url_secrets(url: str) -> list[str]:
    """The passwords `url` holds (userinfo, password-like query values), raw and percent-decoded."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return [url]
    found: list[str] = []
    userinfo = parts.netloc.rsplit("@", 1)[0] if "@" in parts.netloc else ""
    if ":" in userinfo:
        found.append(userinfo.split(":", 1)[1])
    for pair in parts.query.split("&") if parts.query else ():
        key, _, value = pair.partition("=")
        if value and _SECRET_KEYS.search(urllib.parse.unquote_plus(key)):
            found.append(value)
    return [form for value in found for form in {value, urllib.parse.unquote_plus(value)} if form]


def _hide_value(pair: str) -> str:
    key, equals, value = pair.partition("=")
    return f"{key}={HIDDEN}" if equals and value and _SECRET_KEYS.search(urllib.parse.unquote_plus(key)) else pair


def _forms(secret: str) -> set[str]:
    """The pieces of `secret` that identify it, each in every encoding a receiver or driver may echo it in."""
    pieces = {secret}
    try:
        parts = urllib.parse.urlsplit(secret)
    except ValueError:
        parts = urllib.parse.urlsplit("")
    if parts.scheme and parts.netloc:
        tail = secret.split(parts.netloc, 1)[1]
        pieces |= {tail, parts.query, parts.fragment}
        pieces |= {value for pair in parts.query.split("&") for value in (pair, pair.partition("=")[2])}
        segments = [segment for segment in parts.path.split("/") if segment]
        pieces |= {"/".join(segments[index:]) for index in range(len(segments))}
        pieces |= {segment for segment in segments if len(segment) >= _SEGMENT}
        if "@" in parts.netloc:
            userinfo = parts.netloc.rsplit("@", 1)[0]
            pieces |= {userinfo, userinfo.partition(":")[2]}
    pieces = {piece for piece in pieces if len(piece.strip("/")) >= _PIECE or piece == secret}
    forms: set[str] = set()
    for piece in pieces:
        for decoded in {piece, urllib.parse.unquote(piece), urllib.parse.unquote_plus(piece)}:
            for form in (decoded, urllib.parse.quote(decoded, safe="/"), urllib.parse.quote(decoded, safe=""),
                         urllib.parse.quote_plus(decoded, safe="/"), urllib.parse.quote_plus(decoded)):
                forms.add(form)  # matched without regard to case: %2b is %2B
    return {form for form in forms if form}
