/**
 * The Airflow plugin module written by `windflow dags export --to airflow` into `<AIRFLOW_HOME>/plugins/`:
 * the operator every exported task uses and the two timetables of exported schedules. Kept as text here so
 * that the export needs no file beside the build; `tests/airflow-export.test.ts` imports it in real Airflow.
 * `{{VERSION}}`, `{{SKIP_CODE}}`, `{{MAX_INLINE_JSON_ARG}}` and `{{SPILL_NAME}}` are filled in by `airflowPluginFile`
 * (external-contract.ts).
 */
export const WINDFLOW_AIRFLOW_PLUGIN = `"""windflow for Apache Airflow 3: the operator and timetables of DAGs exported by windflow {{VERSION}}.

Written by \`windflow dags export --to airflow\`; do not edit (export again).

- WindflowOperator runs one try of a windflow task: \`node <project>/dist/cli/main.js tasks external\`
  with what Airflow knows (run id, logical date, data interval, try number, conf, the return values of the
  task's upstream tasks). windflow never retries inside the try: Airflow's retries are the DAG's. The last
  line windflow prints is the return value (JSON): it becomes the task's XCom. Exit code {{SKIP_CODE}} is a skip.
- WindflowIntervalTimetable / WindflowCronTimetable keep windflow's schedules: data intervals whose logical
  date is the interval's start; a fixed interval cut from the DAG's start date (start + k * every), also
  when catch-up is off; a manual run is for the second it was triggered (data interval [date, date]), also for
  a DAG without schedule (WindflowManualTimetable).
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading

from airflow.plugins_manager import AirflowPlugin
from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowSkipException
from airflow.timetables import interval as _airflow_interval
from airflow.timetables.base import DataInterval
from airflow.timetables.interval import CronDataIntervalTimetable, DeltaDataIntervalTimetable
from airflow.timetables.simple import NullTimetable

SKIP_EXIT_CODE = {{SKIP_CODE}}
# Larger --conf/--xcom JSON goes through a file (@FILE): Linux refuses one argument over 128 KiB (E2BIG).
MAX_INLINE_JSON_ARG = {{MAX_INLINE_JSON_ARG}}


_SPILL_NAME = re.compile(r"{{SPILL_NAME}}")


def _sweep_dead_spills() -> None:
    """Removes the spill folders (windflow-try-<pid>-*) of processes that are gone: killed before cleaning up."""
    root = tempfile.gettempdir()
    try:
        names = os.listdir(root)
    except OSError:
        return
    for name in names:
        match = _SPILL_NAME.match(name)
        try:
            pid = int(match.group(1)) if match else 0
            if pid <= 0 or pid == os.getpid():
                continue
            os.kill(pid, 0)
            continue  # alive (or a pid reused: kept, to be safe)
        except ProcessLookupError:
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)
        except Exception:  # another user's process, a pid out of range...: best effort, left alone
            continue


def _iso(value: datetime.datetime) -> str:
    return value.astimezone(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


class WindflowOperator(BaseOperator):
    """One windflow task: runs \`windflow tasks external\` in the windflow project and returns its value."""

    ui_color = "#dbeafe"

    def __init__(self, *, windflow_dag_id: str, windflow_project: str, windflow_file=None, xcom_from=(), **kwargs):
        super().__init__(**kwargs)
        self.windflow_dag_id = windflow_dag_id
        self.windflow_project = windflow_project
        # The DAG file, relative to the project (or absolute): the try loads it, whatever the DAGs folder.
        self.windflow_file = windflow_file
        self.xcom_from = list(xcom_from)
        self._process = None
        self._spill = None

    def _json_arg(self, name: str, value) -> str:
        text = json.dumps(value)
        if len(text.encode("utf-8")) <= MAX_INLINE_JSON_ARG:
            return text
        if self._spill is None:
            _sweep_dead_spills()
            # The pid in the name: the next spill on this host removes it if this process is killed (-9).
            self._spill = tempfile.mkdtemp(prefix="windflow-try-%d-" % os.getpid())
        path = os.path.join(self._spill, name + ".json")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return "@" + path

    def command(self, context) -> list[str]:
        ti = context["ti"]
        dag_run = context["dag_run"]
        # Airflow 3's manual runs may have no logical date: windflow's is then the time the run was made for.
        logical = context.get("logical_date") or dag_run.run_after
        start = context.get("data_interval_start") or logical
        end = context.get("data_interval_end") or logical
        xcoms = {}
        for task_id in self.xcom_from:
            value = ti.xcom_pull(task_ids=task_id)
            if value is not None:
                xcoms[task_id] = value
        project = os.environ.get("WINDFLOW_PROJECT", self.windflow_project)
        cmd = [
            os.environ.get("WINDFLOW_NODE", "node"),
            os.path.join(project, "dist", "cli", "main.js"),
            "tasks",
            "external",
            self.windflow_dag_id,
            self.task_id,
            "--run-id", dag_run.run_id,
            "--logical-date", _iso(logical),
            "--data-interval-start", _iso(start),
            "--data-interval-end", _iso(end),
            "--try", str(ti.try_number),
            # Airflow's max_tries counts the retries: the last try is max_tries + 1.
            "--max-tries", str(ti.max_tries + 1),
            "--conf", self._json_arg("conf", dag_run.conf or {}),
            "--xcom", self._json_arg("xcom", xcoms),
        ]
        if self.windflow_file:
            cmd += ["--file", os.path.join(project, self.windflow_file)]
        # No timeout argument: windflow ends the task at the execution timeout of its own DAG file, which the
        # export copied into this task's execution_timeout (Airflow's own stop comes after, through on_kill).
        return cmd

    def execute(self, context):
        try:
            return self._execute(context)
        finally:
            if self._spill is not None:
                shutil.rmtree(self._spill, ignore_errors=True)
                self._spill = None

    def _execute(self, context):
        cmd = self.command(context)
        project = os.environ.get("WINDFLOW_PROJECT", self.windflow_project)
        self.log.info("windflow: %s", " ".join(cmd[2:6]))
        self._process = subprocess.Popen(
            cmd,
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=True,
        )
        stderr_lines: list[str] = []

        def pump_stderr():
            for line in self._process.stderr:
                line = line.rstrip("\\n")
                stderr_lines.append(line)
                self.log.info("%s", line)

        reader = threading.Thread(target=pump_stderr, daemon=True)
        reader.start()
        last = ""
        for line in self._process.stdout:
            line = line.rstrip("\\n")
            if line.strip():
                if last:
                    self.log.info("%s", last)
                last = line
        code = self._process.wait()
        reader.join()
        if code == SKIP_EXIT_CODE:
            raise AirflowSkipException(stderr_lines[-1] if stderr_lines else "skipped by the windflow task")
        if code != 0:
            tail = "\\n".join(line for line in stderr_lines[-20:] if line.strip())
            raise AirflowException(f"windflow task {self.windflow_dag_id}.{self.task_id} failed (exit code {code}):\\n{tail}")
        try:
            value = json.loads(last) if last else None
        except ValueError as error:
            raise AirflowException(f"windflow printed no JSON return value on its last line: {last!r}") from error
        shown = json.dumps(value)
        if len(shown) > 2000:
            shown = f"{shown[:2000]}... ({len(shown)} characters in all)"
        self.log.info("return value: %s", shown)
        return value

    def on_kill(self):
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)


class WindflowIntervalTimetable(DeltaDataIntervalTimetable):
    """A fixed interval cut from the start date, as windflow's \`{ every: ... }\` (catch-up on or off)."""

    def _skip_to_latest(self, earliest):
        # Airflow's own rounds "now" to the Unix epoch when catch-up is off; windflow keeps the start date's grid:
        # the latest complete interval [b - every, b), b the last boundary start + k * every at or before now.
        now = _airflow_interval.coerce_datetime(_airflow_interval.utcnow())
        if earliest is None or now < earliest:
            return earliest
        every_ms = self._delta // datetime.timedelta(milliseconds=1)
        periods = round((now.timestamp() - earliest.timestamp()) * 1000) // every_ms
        latest_start = earliest + datetime.timedelta(milliseconds=(periods - 1) * every_ms)
        return max(latest_start, earliest)

    def infer_manual_data_interval(self, *, run_after):
        # windflow's manual run: [date, date], to the second (the stamp of its dated files).
        return DataInterval.exact(run_after.replace(microsecond=0))


class WindflowCronTimetable(CronDataIntervalTimetable):
    """A cron schedule in UTC whose runs are for the interval between two firings, as windflow's."""

    def __init__(self, cron: str, timezone="UTC") -> None:
        super().__init__(cron, timezone)

    def infer_manual_data_interval(self, *, run_after):
        # windflow's manual run: [date, date], to the second (the stamp of its dated files).
        return DataInterval.exact(run_after.replace(microsecond=0))


class WindflowManualTimetable(NullTimetable):
    """No schedule: manual runs only, each for the second it was triggered, as windflow's."""

    def infer_manual_data_interval(self, *, run_after):
        return DataInterval.exact(run_after.replace(microsecond=0))


class WindflowPlugin(AirflowPlugin):
    name = "windflow"
    timetables = [WindflowIntervalTimetable, WindflowCronTimetable, WindflowManualTimetable]
`;
