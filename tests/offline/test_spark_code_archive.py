"""The code zip the executors get is built in this process's private folder and checked by hash before reuse.

It used to be reused from `<tmp>/parity-spark/parity-<hash>.zip`, a path anyone on the machine could predict and
plant first: on a cluster whose workers lack parity, the planted code would run there.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
import zipfile
from pathlib import Path

import parity
from parity.offline import shipped_code


def _old_predictable_path() -> Path:
    """Where the zip of this very package used to be looked for (the hash of its files' paths and bytes)."""
    package = Path(parity.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        data = path.read_bytes()
        digest.update(path.relative_to(package.parent).as_posix().encode() + b"\0" + len(data).to_bytes(8, "big") + data)
    return Path(tempfile.gettempdir()) / "parity-spark" / f"parity-{digest.hexdigest()[:16]}.zip"


def _is_parity(code: Path) -> bool:
    with zipfile.ZipFile(code) as archive:
        return archive.read("parity/__init__.py") == Path(parity.__file__).read_bytes()


def test_a_file_planted_at_the_old_predictable_path_is_not_used() -> None:
    planted = _old_predictable_path()
    planted.parent.mkdir(parents=True, exist_ok=True)
    planted.write_bytes(b"planted")
    try:
        code = shipped_code()
        assert code != planted and code.read_bytes() != b"planted"
        assert _is_parity(code)
    finally:
        planted.unlink()


def test_the_zip_lives_in_a_folder_only_this_user_can_enter() -> None:
    folder = shipped_code().parent
    mode = folder.stat()
    assert stat.S_IMODE(mode.st_mode) == 0o700 and mode.st_uid == os.getuid()


def test_a_zip_changed_after_it_was_built_is_built_again_before_reuse() -> None:
    code = shipped_code()
    code.write_bytes(b"changed behind parity's back")
    again = shipped_code()
    assert _is_parity(again)
