"""The classify flow: new and changed documents (every document with `everything`), in
batches, under a store lock; a run killed halfway leaves the rest pending, and the next
run classifies exactly those."""

from __future__ import annotations

from prefect import flow

from omvarld.flows.check import config_gate
from omvarld.flows.tasks import classify_documents, finish_run, flow_run_id
from omvarld.ops.report import RunReport


def classify_step(report: RunReport, database_url: str, everything: bool = False) -> None:
    classified, labelled, skipped, left = classify_documents(database_url, everything)
    report.classified, report.labelled, report.classify_skipped = classified, labelled, skipped
    report.unclassified = left


@flow(name="omvarld-classify")
def classify(everything: bool = False, database_url: str | None = None) -> RunReport:
    """Classify what is new or changed since the last run."""
    from omvarld.core.settings import get_settings

    if (failed := config_gate()) is not None:
        return failed
    database_url = database_url or get_settings().database_url
    report = RunReport(flow="classify", flow_run_id=flow_run_id())
    classify_step(report, database_url, everything)
    return finish_run(report, database_url)
