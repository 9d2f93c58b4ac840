"""The task instances of a DAG's latest run in an Airflow home's database, with their return values.

Usage: AIRFLOW_HOME=... python run_report.py DAG_ID OUT_JSON
Writes JSON: {"run_id", "state", "logical_date", "tasks": {task_id: {"state", "try_number", "xcom"}}}.
"""

import json
import sys

from airflow.models.dagrun import DagRun
from airflow.models.taskinstance import TaskInstance
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session
from sqlalchemy import select

dag_id, out_file = sys.argv[1], sys.argv[2]
with create_session() as session:
    run = session.scalars(select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.id.desc()).limit(1)).one()
    tasks = {}
    for ti in session.scalars(select(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run.run_id)):
        xcom = session.scalars(
            select(XComModel).where(
                XComModel.dag_id == dag_id,
                XComModel.run_id == run.run_id,
                XComModel.task_id == ti.task_id,
                XComModel.key == "return_value",
            )
        ).one_or_none()
        tasks[ti.task_id] = {
            "state": str(ti.state.value if hasattr(ti.state, "value") else ti.state),
            "try_number": ti.try_number,
            "xcom": XComModel.deserialize_value(xcom) if xcom is not None else None,
        }
    report = {
        "run_id": run.run_id,
        "state": str(run.state.value if hasattr(run.state, "value") else run.state),
        "logical_date": run.logical_date.isoformat() if run.logical_date else None,
        "tasks": tasks,
    }
with open(out_file, "w") as f:
    json.dump(report, f)
