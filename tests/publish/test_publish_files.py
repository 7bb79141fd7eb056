"""One publisher for every file parity writes (issue 24, findings 3, 4 and 8): temporaries are parity's own
(created exclusively, never a planted file or link), two processes never collide, a failed write names its file
and leaves nothing, and files parity does not own (a jsonl sink outside the project, the last line of a file it
appends to, a spec linked from elsewhere) are never written or trusted."""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import parity.publish as publisher
from parity.errors import AlertRuleError, DataError, SpecError
from parity.publish import publish, publish_text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "report"))
from report_results import result

REPO = Path(__file__).resolve().parents[2]


def message() -> object:
    """One alert notification for the jsonl sink."""
    import uuid

    from parity.alerts.channels import Message, NotificationKind
    from parity.alerts.rules import Severity

    return Message(uuid.uuid4().hex, NotificationKind.TRIGGER, "log", "ride_requests", "inc",
                   "parity/ride_requests/log/inc", "breach", Severity.CRITICAL, "ride_requests: breach", 0)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.startswith(".") or p.name.endswith(".partial"))


# --- temporaries are never planted files --------------------------------------------------------------------


@pytest.mark.parametrize("planted", ["index.html.partial", "ride_requests/20261126T100000Z-abcdef.html.partial"])
def test_a_planted_partial_symlink_is_never_followed(tmp_path: Path, planted: str) -> None:
    from parity.report import write_reports

    reports, victim = tmp_path / "reports", tmp_path / "victim.txt"
    victim.write_text("not parity's file\n")
    (reports / "ride_requests").mkdir(parents=True)
    (reports / planted).symlink_to(victim)
    write_reports(result(60), reports)
    assert victim.read_text() == "not parity's file\n"
    assert (reports / "index.html").read_text().lower().startswith("<!doctype html>")


def test_a_temporary_is_created_exclusively_and_never_opens_a_file_of_that_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep\n")
    monkeypatch.setattr(publisher.uuid, "uuid4", lambda: type("U", (), {"hex": "0" * 32})())
    temporary = tmp_path / f"{publisher._owner_prefix('.parity-tmp')}-{'0' * 12}-out.txt"
    temporary.symlink_to(victim)  # someone guessed the next temporary's name
    with pytest.raises(OSError, match=r"out\.txt: cannot write"):
        publish_text(tmp_path / "out.txt", "new\n")
    assert victim.read_text() == "keep\n" and not (tmp_path / "out.txt").exists()


def test_a_published_file_is_mode_0644(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        path = publish_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


# --- two processes ---------------------------------------------------------------------------------------------


def _write_index_often(reports: str, times: int, start: float) -> int:
    from parity.report import write_index

    while time.time() < start:
        time.sleep(0.001)
    for _ in range(times):
        write_index(Path(reports))
    return times


@pytest.fixture
def memory_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder in memory (tmpfs) when the machine has one: fsync there is free, so 800 index writes take a
    second instead of the disk's ten; the collisions tested are of names, which any filesystem shows."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    folder = Path(tempfile.mkdtemp(prefix="parity-publish-", dir=shm))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_two_processes_writing_the_index_400_times_each_never_fail(memory_folder: Path) -> None:
    from parity.report import to_json

    reports = memory_folder / "reports"
    (reports / "ride_requests").mkdir(parents=True)
    checked = result(60)
    (reports / "ride_requests" / f"{checked.run_id}.json").write_text(json.dumps(to_json(checked)))
    begun = time.monotonic()
    context = multiprocessing.get_context("fork")
    with context.Pool(2) as pool:
        start = time.time() + 0.3
        done = pool.starmap(_write_index_often, [(str(reports), 400, start)] * 2)
    assert done == [400, 400]
    assert time.monotonic() - begun < 5
    assert "ride_requests" in (reports / "index.html").read_text()
    assert _leftovers(reports) == []


# --- a failed write names its file and leaves nothing -----------------------------------------------------


def test_a_full_disk_leaves_no_partial_file_no_json_and_names_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from parity.report import write_reports

    reports = tmp_path / "reports"
    real_write = os.write

    def full(descriptor: int, data: bytes) -> int:
        if b"<!doctype html>" in bytes(data[:200]).lower():
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(descriptor, data)

    monkeypatch.setattr(publisher.os, "write", full)
    with pytest.raises(DataError) as failed:
        write_reports(result(60), reports)
    html = reports / "ride_requests" / "20261126T100000Z-abcdef.html"
    assert str(failed.value) == f"{html}: cannot write: No space left on device"
    assert isinstance(failed.value, OSError) and failed.value.errno == errno.ENOSPC
    assert _leftovers(reports) == []
    assert not list(reports.rglob("*.json"))  # the JSON, the record, is written last: no record of a half report


def test_a_failed_write_of_any_kind_names_the_target_and_removes_its_temporary(tmp_path: Path) -> None:
    def fail(path: Path) -> None:
        path.write_bytes(b"half")
        raise OSError(errno.EIO, "Input/output error")

    with pytest.raises(DataError, match=r"^.*out\.parquet: cannot write: Input/output error$"):
        publish(tmp_path / "out.parquet", fail)
    assert list(tmp_path.iterdir()) == []


def test_a_report_folder_that_is_a_file_is_one_line_naming_it(tmp_path: Path) -> None:
    from parity.report import write_reports

    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "ride_requests").write_text("a file where the feature's folder goes")
    with pytest.raises(DataError, match=r"reports/ride_requests: cannot write: cannot make the folder"):
        write_reports(result(60), reports)


# --- files parity does not own -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/tmp/parity-outside.jsonl", "../../outside.jsonl", "out/../../outside.jsonl"])
def test_an_alert_rule_whose_jsonl_sink_is_outside_the_project_is_refused(tmp_path: Path, path: str) -> None:
    from parity.alerts.rules import load_rule

    rule = tmp_path / "project" / "alerts" / "log.yaml"
    rule.parent.mkdir(parents=True)
    rule.write_text(f"when: {{breach: critical}}\nchannels:\n  - {{type: jsonl, path: {json.dumps(path)}}}\n")
    with pytest.raises(AlertRuleError) as refused:
        load_rule(rule)
    assert str(refused.value).startswith(f"{rule}: channels.0.path: ") and "outside" in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_jsonl_sink_linked_outside_the_project_is_never_written(tmp_path: Path) -> None:
    from parity.alerts.channels import DeliveryFailed, send
    from parity.alerts.rules import Channel

    project, outside = tmp_path / "project", tmp_path / "outside.jsonl"
    (project / "out").mkdir(parents=True)
    outside.write_text("")
    (project / "out" / "alerts.jsonl").symlink_to(outside)
    with pytest.raises(DeliveryFailed, match="outside"):
        send(message(), Channel("jsonl", 2_000_000, 0, 10_000, path="out/alerts.jsonl"), project)
    assert outside.read_text() == ""


def test_appending_to_a_jsonl_file_without_a_final_newline_keeps_its_last_line(tmp_path: Path) -> None:
    from parity.alerts.channels import send
    from parity.alerts.rules import Channel

    path = tmp_path / "alerts.jsonl"
    path.write_text('{"id": "a"}\n{"written": "by someone else, no newline"}')
    sent = message()
    send(sent, Channel("jsonl", 2_000_000, 0, 10_000, path="alerts.jsonl"), tmp_path)
    lines = path.read_text().splitlines()
    assert lines[:2] == ['{"id": "a"}', '{"written": "by someone else, no newline"}']
    assert json.loads(lines[2])["id"] == sent.key and len(lines) == 3  # type: ignore[attr-defined]


def test_a_spec_that_links_outside_the_project_is_refused_naming_the_file(tmp_path: Path) -> None:
    from parity.spec import load_feature

    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    (project / "realtime_jobs").mkdir(parents=True)
    elsewhere.mkdir()
    shutil.copytree(REPO / "offline_queries", project / "offline_queries")
    shutil.copy(REPO / "realtime_jobs" / "ride_requests.yaml", elsewhere / "ride_requests.yaml")
    link = project / "realtime_jobs" / "ride_requests.yaml"
    link.symlink_to(elsewhere / "ride_requests.yaml")
    with pytest.raises(SpecError) as refused:
        load_feature("ride_requests", project)
    assert str(refused.value).startswith(f"{link}: links to ") and "outside the project" in str(refused.value)
    (project / "shared").mkdir()
    shutil.copy(REPO / "realtime_jobs" / "ride_requests.yaml", project / "shared" / "ride_requests.yaml")
    link.unlink()
    link.symlink_to(project / "shared" / "ride_requests.yaml")  # a link inside the project is fine
    assert load_feature("ride_requests", project).name == "ride_requests"


def test_a_feature_name_that_is_a_path_names_no_feature(tmp_path: Path) -> None:
    from parity.errors import UnknownFeatureError
    from parity.spec import load_feature

    (tmp_path / "realtime_jobs").mkdir()
    shutil.copy(REPO / "realtime_jobs" / "ride_requests.yaml", tmp_path / "ride_requests.yaml")
    with pytest.raises(UnknownFeatureError):
        load_feature("../ride_requests", tmp_path)  # realtime_jobs/../ride_requests.yaml exists


def test_a_relative_project_still_has_its_spec_links_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from parity.spec import load_feature

    (tmp_path / "project" / "realtime_jobs").mkdir(parents=True)
    shutil.copy(REPO / "realtime_jobs" / "ride_requests.yaml", tmp_path / "ride_requests.yaml")
    (tmp_path / "project" / "realtime_jobs" / "ride_requests.yaml").symlink_to(tmp_path / "ride_requests.yaml")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecError, match="outside the project"):
        load_feature("ride_requests", Path("project"))
