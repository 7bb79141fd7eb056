"""Publishing a file: two writers of one target never share a temporary file, and leftovers of dead writers go."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from parity.publish import _host, clean_leftovers, publish, published, scratch


def test_two_concurrent_writers_of_one_target_each_publish_a_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "windows-a--b.parquet"
    both_writing = threading.Barrier(2, timeout=10)
    errors: list[BaseException] = []

    def writer(content: bytes) -> None:
        def write(path: Path) -> None:
            with path.open("wb") as out:
                out.write(content[:5])
                both_writing.wait()  # both are half-way through their temporary file now
                out.write(content[5:])

        try:
            publish(target, write)
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    contents = (b"first writer, whole" * 100, b"second writer, whole" * 100)
    threads = [threading.Thread(target=writer, args=(content,)) for content in contents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert target.read_bytes() in contents
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_a_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.parquet"
    target.write_bytes(b"previous")

    def fail(path: Path) -> None:
        path.write_bytes(b"half")
        raise RuntimeError("killed")

    try:
        publish(target, fail)
    except RuntimeError:
        pass
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["out.parquet"]


def test_leftovers_of_dead_writers_go_and_those_of_live_writers_stay(tmp_path: Path) -> None:
    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True).stdout)
    live = os.getppid()
    host = _host()
    made = {
        "dead_staging": tmp_path / f".staging-{host}-{dead}-0123456789ab",
        "live_staging": tmp_path / f".staging-{host}-{live}-0123456789ab",
        "dead_temporary": tmp_path / f".parity-tmp-{host}-{dead}-0123456789ab-x.parquet",
        "live_temporary": tmp_path / f".parity-tmp-{host}-{live}-0123456789ab-x.parquet",
        "foreign_fresh": tmp_path / f".parity-tmp-otherhost-{dead}-0123456789ab-x.parquet",
    }
    for name, path in made.items():
        if "staging" in name:
            path.mkdir()
            (path / "part.pickle").write_bytes(b"x")
        else:
            path.write_bytes(b"x")
    mine = scratch(tmp_path, "staging")
    removed = clean_leftovers(tmp_path, "staging")
    assert sorted(removed) == sorted([made["dead_staging"], made["dead_temporary"]])
    assert all(made[name].exists() for name in ("live_staging", "live_temporary", "foreign_fresh"))
    assert mine.is_dir()


def test_readers_list_no_hidden_name(tmp_path: Path) -> None:
    for name in ("a.parquet", "_SUCCESS.parquet", ".a.parquet", ".parity-tmp-h-1-x-a.parquet", "b.json"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in published(tmp_path, ".parquet")] == ["a.parquet"]
