"""POSTing a JSON body over HTTP(S), for the channels that deliver to a URL (webhook, slack, pagerduty).

Every failure is one `DeliveryFailed` whose detail quotes nothing of the URL: a bad URL is named by where it came
from (`$ENV_NAME` or `url`), and for a channel that holds secrets an HTTP error is only its status code and the
standard phrase, never the receiver's own reason phrase (a receiver or proxy may quote the request path in it).
"""

from __future__ import annotations

import http
import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from parity.alerts.channels import Context, DeliveryFailed


def post_json(url: str, body: dict[str, Any], context: Context, *, where: str,
              headers: dict[str, str] | None = None) -> None:
    """POST `body` to `url` within the channel's timeout; `where` names the URL's origin in errors (`$ENV`, `url`)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeliveryFailed(f"{where} is not an http(s) URL such as https://host/path; fix the value (not shown)")
    try:
        request = urllib.request.Request(
            url,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "User-Agent": "parity-alerts", **(headers or {})},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=context.timeout_s) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(f"HTTP {exc.code} {_phrase(exc) if context.holds_secrets else exc.reason}") from None
    except urllib.error.URLError as exc:
        raise DeliveryFailed(f"connection failed: {exc.reason}") from None
    except TimeoutError:
        raise DeliveryFailed(f"no response within {context.timeout_s:g}s") from None
    except OSError as exc:
        raise DeliveryFailed(f"connection failed: {exc.strerror or type(exc).__name__}") from None
    except (ValueError, http.client.InvalidURL):  # a bad port, a control character: their messages quote the URL
        raise DeliveryFailed(f"{where} is not a valid URL; fix the value (not shown)") from None
    except http.client.HTTPException as exc:
        raise DeliveryFailed(f"bad HTTP response: {type(exc).__name__}") from None


def _phrase(error: urllib.error.HTTPError) -> str:
    """The standard reason phrase of the error's status code (never the receiver's own words)."""
    try:
        return http.HTTPStatus(error.code).phrase
    except ValueError:
        return "(non-standard status)"
