"""parity against a real Spark standalone cluster, and the code it ships to the executors.

The cluster is a master and two workers (one core, 1 GiB each) started from the installed pyspark package
(`$SPARK_HOME/bin/spark-class org.apache.spark.deploy.master.Master` / `...worker.Worker`, SPARK_HOME being
pyspark's folder) on 127.0.0.1, and stopped (process group and all) in the fixture's finalizer. Its executors run
`workers_python`: a Python with parity's third-party packages (pandas, pyarrow, pygeohash, pyspark) but not
parity, in an environment without PYTHONPATH and a working directory outside the checkout. So the offline
query's geohash UDF, which the executors import from `parity.geo`, works there only because parity ships its own
code (`parity.offline.shipped_code`, added with `SparkContext.addPyFile`); without it the check fails with
"No module named 'parity'".

One generated event log (10 minutes at 60 events a minute) and one online log streamed from it serve two
projects that differ only in `spark_master`: `local[*]` and `spark://127.0.0.1:<port>`. `parity check` of both
features must write the same JSON report, field for field, in each. The features: `ride_requests` with
`allowed_lateness: 0s` (late events leave cells missing online, so the report lists offline values, causes and
the lateness what-if from the in-time columns) and `demand_supply` (sliding windows, a join, NULL ratios).

Only Java missing skips the cluster tests. Budget: about a minute on two idle cores (the two checks run at
the same time, the cluster starts while the log is generated and streamed).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyspark
import pytest
from pyspark.sql import SparkSession

from parity.errors import ConfigError
from parity.offline import shipped_code, spark_session
from parity.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[2]
START, END = "2026-11-26T08:00:00Z", "2026-11-26T08:10:00Z"
FEATURES = ("ride_requests", "demand_supply")
WORKERS = 2
needs_java = pytest.mark.skipif(shutil.which("java") is None, reason="no `java` on PATH: a Spark cluster needs Java 17")


# --- the cluster ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cluster:
    master: str  # spark://127.0.0.1:<port>
    status_url: str  # the master's JSON status
    python: Path  # the executors' Python: parity's dependencies, not parity
    work: Path  # the cluster's folder: work1/ and work2/ (the workers' work folders), logs/, workers_python/
    logs: Path

    def wait_for_workers(self, timeout_s: float = 90.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if self.status()["aliveworkers"] == WORKERS:
                    return
            except OSError:
                pass  # the master's UI is not up yet
            time.sleep(0.25)
        tails = "\n".join(f"--- {log.name}\n{log.read_text()[-2000:]}" for log in sorted(self.logs.glob("*.log")))
        raise AssertionError(f"{WORKERS} workers did not register with {self.master} in {timeout_s:.0f} s\n{tails}")

    def status(self) -> dict[str, Any]:
        no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with no_proxy.open(self.status_url, timeout=5) as response:
            return json.load(response)  # type: ignore[no-any-return]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def workers_python(root: Path) -> Path:
    """A virtualenv without pip whose one .pth line names this interpreter's site-packages: every third-party
    package imports, parity does not (a plain path line adds the folder without running the .pth files in it,
    such as the editable install's import hook)."""
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(root)], check=True)  # type: ignore[attr-defined]
    site = Path(sysconfig.get_paths(vars={"base": str(root), "platbase": str(root)})["purelib"])
    (site / "parity_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return root / "bin" / "python"


def workers_env(root: Path) -> dict[str, str]:
    """The daemons' environment: this one without any path to parity, and SPARK_HOME = pyspark's folder."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYSPARK_PYTHON", "VIRTUAL_ENV")}
    env.update(
        SPARK_HOME=str(Path(pyspark.__file__).parent),
        SPARK_LOCAL_IP="127.0.0.1",
        SPARK_MASTER_OPTS="-Dspark.master.rest.enabled=false",
        SPARK_LOG_DIR=str(root / "logs"),
        SPARK_DAEMON_MEMORY="512m",  # the master and worker daemons themselves (default 1g)
    )
    return env


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A master and two workers, started here and not waited for (`Cluster.wait_for_workers`); torn down always."""
    root = tmp_path_factory.mktemp("spark_cluster")
    python = workers_python(root / "workers_python")
    env = workers_env(root)
    spark_class = str(Path(env["SPARK_HOME"]) / "bin" / "spark-class")
    logs = root / "logs"
    logs.mkdir()
    port, ui = free_port(), free_port()
    master = f"spark://127.0.0.1:{port}"
    commands = [
        ("master", [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
                    "--webui-port", str(ui)]),
        *((f"worker{n}", [spark_class, "org.apache.spark.deploy.worker.Worker", master, "--host", "127.0.0.1",
                          "--cores", "1", "--memory", "1g", "--webui-port", "0", "--work-dir", str(root / f"work{n}")])
          for n in range(1, WORKERS + 1)),
    ]
    daemons: list[subprocess.Popen[bytes]] = []
    try:
        for name, command in commands:
            with (logs / f"{name}.log").open("wb") as log:
                # Its own process group: the finalizer stops the daemon and the executors it started.
                daemons.append(subprocess.Popen(command, env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT,
                                                stdin=subprocess.DEVNULL, start_new_session=True))
        yield Cluster(master, f"http://127.0.0.1:{ui}/json", python, root, logs)
    finally:
        for daemon in reversed(daemons):
            _stop(daemon)


def _stop(daemon: subprocess.Popen[bytes]) -> None:
    for sig, wait_s in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(daemon.pid, sig)
        except ProcessLookupError:
            return
        try:
            daemon.wait(wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


# --- the checks -------------------------------------------------------------------------------------------


def parity(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "parity.cli", *args, "--project", str(project)],
                          capture_output=True, text=True, cwd=project, timeout=300, check=False)


def make_project(root: Path, data: Path, tool_parity: str) -> Path:
    """A feature project over the shared `data` (event and online logs); ride_requests with no lateness."""
    root.mkdir()
    for folder in ("realtime_jobs", "offline_queries"):
        shutil.copytree(REPO / folder, root / folder)
    spec = root / "realtime_jobs" / "ride_requests.yaml"
    spec.write_text(spec.read_text().replace("allowed_lateness: 2m", "allowed_lateness: 0s"))
    (root / "pyproject.toml").write_text(
        f'[tool.parity]\nevent_log = "{data / "events"}"\nonline_log = "{data / "online"}"\n{tool_parity}'
    )
    return root


@dataclass(frozen=True, slots=True)
class Checked:
    exit_code: int
    summaries: list[dict[str, Any]]  # what `--format json` printed, one per feature
    reports: dict[str, dict[str, Any]]  # feature -> its JSON report, for each feature that was checked
    stderr: str


@pytest.fixture(scope="module")
def checks(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Checked]:
    """`parity check` of FEATURES in the `local[*]` project and in the cluster's, run side by side."""
    root = tmp_path_factory.mktemp("cluster_projects")
    data = root / "data"
    projects = {
        "local": make_project(root / "local", data, ""),
        "cluster": make_project(root / "cluster", data, (
            f'spark_master = "{cluster.master}"\nspark_python = "{cluster.python}"\n[tool.parity.spark_conf]\n'
            '"spark.driver.host" = "127.0.0.1"\n"spark.driver.bindAddress" = "127.0.0.1"\n"spark.executor.memory" = "512m"\n'
        )),
    }
    for step in (("generate", "--start", START, "--duration", "10m", "--rate", "60", "--seed", "5"),
                 ("stream", *FEATURES, "--start", START, "--end", END)):
        done = parity(projects["local"], *step)
        assert done.returncode == 0, done.stderr
    cluster.wait_for_workers()
    command = ["check", *FEATURES, "--start", START, "--end", END, "--format", "json"]
    running = {
        name: subprocess.Popen([sys.executable, "-m", "parity.cli", *command, "--project", str(project)],
                               cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name, project in projects.items()
    }
    checked = {}
    try:
        for name, process in running.items():
            stdout, stderr = process.communicate(timeout=300)
            summaries = [json.loads(line) for line in stdout.splitlines()]
            reports = {
                s["feature"]: json.loads((projects[name] / "reports" / s["feature"] / f"{s['run_id']}.json").read_text())
                for s in summaries if "run_id" in s
            }
            checked[name] = Checked(process.returncode, summaries, reports, stderr)
    finally:
        for process in running.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    return checked


@needs_java
def test_the_workers_python_has_the_dependencies_but_not_parity(cluster: Cluster) -> None:
    env = workers_env(cluster.work)
    for module, code in (("pandas, pyarrow, pygeohash, pyspark", 0), ("parity", 1)):
        done = subprocess.run([str(cluster.python), "-c", f"import {module}"], env=env, cwd=cluster.work,
                              capture_output=True, text=True, check=False)
        assert done.returncode == code, (module, done.stderr)
    assert "No module named 'parity'" in done.stderr


@needs_java
def test_a_check_on_the_cluster_writes_exactly_the_local_report(checks: dict[str, Checked]) -> None:
    local, on_cluster = checks["local"], checks["cluster"]
    for checked in (local, on_cluster):  # a check that could not run says why in its summary's `error`
        assert [s.get("error") for s in checked.summaries] == [None, None], checked.stderr[-3000:]
    assert list(on_cluster.reports) == list(local.reports) == list(FEATURES)
    assert on_cluster.exit_code == local.exit_code == 1  # ride_requests breaches: its late cells are missing online
    for feature in FEATURES:
        expected = {k: v for k, v in local.reports[feature].items() if k != "run_id"}
        assert {k: v for k, v in on_cluster.reports[feature].items() if k != "run_id"} == expected, feature
    # What the comparison covers: cells with offline values and causes, per-window and per-cell counts.
    late = local.reports["ride_requests"]
    assert late["causes"]["late_arrival"] > 0 and late["worst_cells"] and late["lateness_what_if"]
    assert all(cell["offline"]["requests"] >= 1 for cell in late["worst_cells"])
    assert local.reports["demand_supply"]["compared"] > 100


@needs_java
def test_the_check_ran_on_both_workers_with_parity_shipped(cluster: Cluster, checks: dict[str, Checked]) -> None:
    status = cluster.status()
    apps = [app for app in status["completedapps"] + status["activeapps"] if app["name"] == "parity"]
    assert len(apps) == 1, status
    executors = {n: list((cluster.work / f"work{n}").glob(f"{apps[0]['id']}/*")) for n in range(1, WORKERS + 1)}
    assert all(executors.values()), f"a worker ran no executor of {apps[0]['id']}: {executors}"
    # An executor fetches the added files with its first task; every one that ran a task has the zip.
    ran = [e for found in executors.values() for e in found if "Running task" in (e / "stderr").read_text()]
    assert ran and all((executor / shipped_code().name).is_file() for executor in ran)


# --- shipping and settings (no cluster) -------------------------------------------------------------------


@needs_java
def test_a_session_ships_parity_once_onto_its_python_workers_path(spark: SparkSession, repo_settings: Settings) -> None:
    assert spark_session(repo_settings) is spark  # asked again: the same session, the zip not added twice
    zipped = shipped_code().name
    assert [Path(urlsplit(f).path).name for f in spark.sparkContext.listFiles].count(zipped) == 1
    # What every task sends its Python worker to add to its path (a worker skips a repeat, so only this list
    # shows one; repeated, it would grow with every `spark_session` call of a long-running `parity run`).
    assert spark.sparkContext._python_includes.count(zipped) == 1
    paths = spark.sparkContext.parallelize([0], 1).map(lambda _: [p for p in sys.path if p.endswith(zipped)]).collect()
    assert len(paths[0]) == 1  # a Python worker has the zip on its path


def test_shipped_code_is_the_parity_package_cached_by_content() -> None:
    first, again = shipped_code(), shipped_code()
    assert first == again and first.name.startswith("parity-") and first.suffix == ".zip"
    package = REPO / "parity"
    with zipfile.ZipFile(first) as archive:
        names = set(archive.namelist())
        assert archive.read("parity/geo.py") == (package / "geo.py").read_bytes()
    on_disk = {p.relative_to(REPO).as_posix() for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert names == on_disk


def test_spark_conf_values_become_spark_property_strings(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.parity]\nspark_python = "/opt/py311/bin/python"\n'
        '[tool.parity.spark_conf]\n"spark.executor.memory" = "4g"\n"spark.executor.cores" = 2\n'
        '"spark.dynamicAllocation.enabled" = true\n'
    )
    settings = load_settings(tmp_path)
    assert settings.spark_python == "/opt/py311/bin/python"
    assert settings.spark_conf == (
        ("spark.executor.memory", "4g"), ("spark.executor.cores", "2"), ("spark.dynamicAllocation.enabled", "true"),
    )


def test_a_spark_conf_key_outside_spark_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.parity.spark_conf]\n"executor.memory" = "4g"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path)
    assert caught.value.field == "spark_conf.executor.memory" and "spark." in str(caught.value)
