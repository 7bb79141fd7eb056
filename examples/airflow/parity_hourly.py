"""Airflow DAG: `parity run --all --alert` every hour, a few minutes past, on the feature project's host.

Copy this file into the DAGs folder and set two Airflow Variables (or edit the defaults in COMMAND):
`parity_project` (the feature project: realtime_jobs/, offline_queries/, pyproject.toml) and `parity_bin` (the
`parity` executable of its virtualenv). parity itself is not an Airflow dependency: the task shells out to it.

Each run checks every settled hour of the last day not yet checked under the current spec and SQL, so a missed
or failed run is caught up by the next one (no backfill of Airflow's own is needed: `catchup=False`), and two
runs overlapping are safe (parity takes a lock per feature in its results store). Exit codes: 0 every hour
passed, 1 a feature breached (the task fails so the DAG shows red; alerts have already been sent), 2 parity
could not check something.
"""

from __future__ import annotations

import datetime as dt

from airflow import DAG

try:  # Airflow 3
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:  # Airflow 2
    from airflow.operators.bash import BashOperator  # type: ignore[no-redef]

# Variables are read when the task runs (Jinja), never when the scheduler parses this file.
COMMAND = (
    "{{ var.value.get('parity_bin', '/srv/features/.venv/bin/parity') }} run --all --alert --since 24h "
    "--project {{ var.value.get('parity_project', '/srv/features') }}"
)

with DAG(
    dag_id="parity_hourly",
    description="Check every settled hour of every feature against its offline recompute (parity run --all).",
    schedule="5 * * * *",
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 1, "retry_delay": dt.timedelta(minutes=5)},
    tags=["parity", "features"],
) as dag:
    BashOperator(
        task_id="parity_run",
        bash_command=COMMAND,
        execution_timeout=dt.timedelta(minutes=50),  # the next hour's run picks up what is left
    )
