"""The next scheduled runs of every DAG of an Airflow home's dags/ folder, as Airflow's scheduler computes them.

Usage: AIRFLOW_HOME=... python next_runs.py COUNT OUT_JSON NOW_ISO...
Writes JSON (Airflow logs to stdout): {"import_errors": {file: error}, "at": {NOW_ISO: {dag_id: {"timetable":
class name, "runs": [[logical date, interval start, interval end], ...], "manual": [start, end] of a manual run
at NOW}}}}. "Now" is Airflow's utcnow, fixed to each NOW_ISO in turn. The DAGs go through Airflow's serialization first, as in the scheduler.
"""

import datetime
import json
import os
import sys
from unittest import mock

import pendulum
from airflow.dag_processing.dagbag import DagBag
from airflow.serialization.serialized_objects import DagSerialization
from airflow.timetables.base import TimeRestriction

count = int(sys.argv[1])
nows = sys.argv[3:]


def iso(value):
    return value.in_timezone("UTC").format("YYYY-MM-DDTHH:mm:ss.SSS") + "Z"


bag = DagBag(dag_folder=os.path.join(os.environ["AIRFLOW_HOME"], "dags"))
out = {"import_errors": {k: v for k, v in bag.import_errors.items()}, "at": {}}
serialized_dags = {
    dag_id: DagSerialization.from_dict(DagSerialization.to_dict(dag)) for dag_id, dag in sorted(bag.dags.items())
}
for now_text in nows:
    now = pendulum.parse(now_text)
    at = out["at"][now_text] = {}
    with mock.patch("airflow.timetables.interval.utcnow", return_value=now):
        for dag_id, serialized in serialized_dags.items():
            timetable = serialized.timetable
            restriction = TimeRestriction(earliest=serialized.start_date, latest=None, catchup=serialized.catchup)
            runs = []
            last = None
            while len(runs) < count:
                info = timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
                if info is None:
                    break
                runs.append([iso(info.logical_date), iso(info.data_interval.start), iso(info.data_interval.end)])
                last = info.data_interval
            manual = timetable.infer_manual_data_interval(run_after=now)
            at[dag_id] = {
                "timetable": type(timetable).__name__,
                "runs": runs,
                "manual": [iso(manual.start), iso(manual.end)],
            }
with open(sys.argv[2], "w") as f:
    json.dump(out, f)
