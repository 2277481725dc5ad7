"""The pipeline's commands: crawl, classify, digest, weekly, eval and train (`sources` is
its own group, `omvarld.cli.sources`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from omvarld.cli.common import console, data_dir, err, errors, fail, prepare_prefect, progress_bar

if TYPE_CHECKING:
    from omvarld.nlp.evaluate import Evaluation
    from omvarld.ops.report import SourceRow

app = typer.Typer()


def _crawl_table(reports: list) -> Table:
    table = Table(title="Crawl")
    table.add_column("source", no_wrap=True)
    for col in ("status", "new", "updated", "unchanged", "failed", "first error"):
        table.add_column(col, justify="right" if col in {"new", "updated", "unchanged",
                                                         "failed"} else "left")
    for r in reports:
        style = "green" if r.status == "ok" else "red"
        first = escape((r.errors[0] if r.errors else "")[:90])
        table.add_row(r.source, f"[{style}]{r.status}[/]", str(r.new), str(r.updated),
                      str(r.unchanged), str(r.failed), first)
    return table


@app.command()
def crawl(
    sources: Annotated[list[str] | None, typer.Argument(help="Source ids; all enabled if none.")
                       ] = None,
    replay: Annotated[bool, typer.Option(help="Crawl the recorded responses served locally."
                                         )] = False,
) -> None:
    """Crawl sources, each in its own process, in parallel; store new and changed documents.

    Example: omvarld crawl riksdagen regeringen
    """
    from omvarld.config.load import load_sources
    from omvarld.core.settings import get_settings
    from omvarld.flows.check import require_config

    with errors():
        require_config(sources=sources)
        settings = get_settings()
        catalogue = load_sources()
        ids = sources or [s.id for s in catalogue.enabled]
        for sid in ids:
            catalogue.get(sid)
        with _replay_server(replay) as base_urls, ThreadPoolExecutor(max_workers=4) as pool:
            err.print(f"crawling {', '.join(ids)} …")
            rows = list(pool.map(lambda sid: _crawl_locked(
                sid, base_urls.get(sid), settings.database_url, settings.crawl_timeout), ids))
    console.print(_crawl_table(rows))
    failed = [r.source for r in rows if r.status != "ok"]
    if failed:
        raise fail(f"failed or skipped sources: {', '.join(failed)}")


def _crawl_locked(source_id: str, base_url: str | None, database_url: str,
                  timeout: float) -> SourceRow:
    """One source's crawl under the lock the flows take: never beside a scheduled run's."""
    from datetime import timedelta

    from omvarld.crawl.run import run_crawl_in_subprocess
    from omvarld.ops.health import close_abandoned_runs
    from omvarld.ops.locks import crawl_lock, crawl_lock_ttl, holder_of, locked, process_holder
    from omvarld.ops.report import SourceRow
    from omvarld.store import Store

    store = Store.open(database_url)
    try:
        with locked(store, crawl_lock(source_id), process_holder(),
                    crawl_lock_ttl(timeout)) as mine:
            if not mine:
                other = holder_of(store, crawl_lock(source_id))
                return SourceRow(source=source_id, status="skipped",
                                 error=f"another run is crawling it ({other})")
            close_abandoned_runs(store, timedelta(0), source=source_id)  # a dead run's
            report = run_crawl_in_subprocess(source_id, base_url=base_url,
                                              database_url=database_url, timeout=timeout)
    finally:
        store.close()
    return SourceRow.from_crawl(report)


@contextmanager
def _replay_server(enabled: bool) -> Iterator[dict[str, str]]:
    if not enabled:
        yield {}
        return
    from omvarld.config.load import load_sources
    from omvarld.crawl.replay import ReplayServer

    with ReplayServer() as server:
        yield {s.id: server.base_url(s.id) for s in load_sources().enabled
               if server.serves(s.id)}


@app.command()
def classify(
    everything: Annotated[bool, typer.Option("--all", help="Re-classify every document.")
                          ] = False,
    backfill: Annotated[bool, typer.Option(
        "--backfill", help="In batches on a Dask cluster (a Prefect flow): every document "
        "the current classifier has not labelled; run again to resume.")] = False,
    batch_size: Annotated[int, typer.Option(min=1, help="With --backfill: documents per batch."
                                            )] = 200,
    scheduler: Annotated[str | None, typer.Option(
        help="With --backfill: a Dask scheduler, e.g. tcp://10.0.0.5:8786; default: a local "
             "cluster.")] = None,
    workers: Annotated[int | None, typer.Option(
        min=1, help="With --backfill: local Dask workers; default: one per core.")] = None,
) -> None:
    """Classify new and changed documents against the focus areas.

    Example: omvarld classify --backfill --workers 2
    """
    from omvarld.pipeline.classify import classify_pending
    from omvarld.store import Store

    if backfill:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")  # the batches are the progress
        prepare_prefect(data_dir())
        from omvarld.flows.backfill import backfill as backfill_flow

        with errors():
            result = backfill_flow(batch_size=batch_size, scheduler_address=scheduler,
                                   workers=workers, everything=everything)
        console.print(result.summary())
        if result.failed:
            raise typer.Exit(1)
        return
    from datetime import timedelta

    from omvarld.ops.locks import holder_of, locked, process_holder, refresh

    holder, ttl = process_holder(), timedelta(minutes=30)
    with errors():
        store = Store.open()
        with locked(store, "classify", holder, ttl) as mine:  # the flows' lock
            if not mine:
                raise fail(f"another run is classifying ({holder_of(store, 'classify')})")
            with progress_bar() as progress:
                task = progress.add_task("classifying", total=None)

                def step(done: int, total: int) -> None:
                    refresh(store, "classify", holder, ttl)
                    progress.update(task, completed=done, total=total)

                report = classify_pending(store, everything=everything, progress=step)
    console.print(report.summary())


@app.command()
def digest(
    week: Annotated[str | None, typer.Option(help="ISO week, e.g. 2026-W47; default: this week."
                                             )] = None,
    out: Annotated[Path | None, typer.Option(help="Folder; default OMVARLD_DIGEST_DIR.")] = None,
    per_area: Annotated[int | None, typer.Option(
        min=1, help="Entries per focus area; default: digest.yaml.")] = None,
    max_age_days: Annotated[int | None, typer.Option(
        help="Leave out documents published this many days before the week (0: no limit); "
             "default: digest.yaml."
    )] = None,
    send: Annotated[bool, typer.Option(
        "--send", help="E-mail it to the recipients in digest.yaml (once per week).")] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="With --send: send again to those who already have it.")] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="With --send: build the messages but send nothing.")] = False,
    replayed: Annotated[bool, typer.Option(
        "--replayed", help="The store was filled by `crawl --replay`: say so in the digest "
        "and mark the entries built from constructed fixtures.")] = False,
) -> None:
    """Write the week's digest (HTML page, Markdown, PDF, .ics, e-mail) and, with --send,
    e-mail it over SMTP (OMVARLD_SMTP_*; the password only from OMVARLD_SMTP_PASSWORD).

    Example: omvarld digest --week 2026-W47 --send
    """
    from omvarld.config.load import load_focus_areas
    from omvarld.core.settings import get_settings
    from omvarld.digest.build import current_week
    from omvarld.digest.deliver import send_digest
    from omvarld.digest.write import write_digest
    from omvarld.store import Store

    age: int | str | None = "config" if max_age_days is None else (max_age_days or None)
    with errors():
        week = week or current_week()
        folder = out or get_settings().digest_dir
        store = Store.open()
        paths = write_digest(store, week, folder, areas=load_focus_areas(),
                             per_area=per_area, max_age_days=age, replayed=replayed)
        if send:  # sends the digest just written (archived), once per recipient
            result = send_digest(store, week, force=force, dry_run=dry_run, out_dir=folder)
    for kind, path in paths.items():
        console.print(f"{kind}: {path}")
    if send:
        console.print(result.summary())


@app.command()
def weekly(
    week: Annotated[str | None, typer.Option(help="ISO week; default: this week.")] = None,
    source: Annotated[list[str] | None, typer.Option(help="Only these sources.")] = None,
    replay: Annotated[bool, typer.Option(
        help="Crawl the recorded responses served from a local server; the digest then "
             "counts every replayed document as found this week.")] = False,
    send: Annotated[bool, typer.Option(
        help="Send the digest and any alert e-mails, as the scheduled run does "
             "(default: write only).")] = False,
    allow_partial: Annotated[bool, typer.Option(
        "--allow-partial", help="Exit 0 even when sources were skipped or failed or "
        "documents were left unclassified (the report and digest say so either way).")
    ] = False,
) -> None:
    """The main job: crawl → classify → digest, as a Prefect flow.

    Finishes even when sources are unreachable: each is reported by name and the digest
    is written (saying what it lacks). A partial run exits 1 unless --allow-partial.

    Example: omvarld weekly --replay
    """
    from omvarld.flows.check import require_config

    with errors():
        require_config(sources=source)  # the flow checks again; this fails before Prefect
    prepare_prefect(data_dir())
    from omvarld.flows.tasks import PartialRun
    from omvarld.flows.weekly import weekly as weekly_flow

    partial = None
    with errors(), _replay_server(replay) as base_urls:
        try:
            report = weekly_flow(sources=source, week=week, base_urls=base_urls,
                                 max_age_days=None if replay else 60, dry_run=not send,
                                 allow_partial=allow_partial)
        except PartialRun as exc:
            partial, report = exc, exc.report
    console.print(_crawl_table(report.crawls))
    console.print(f"classified {report.classified} documents, {report.labelled} in a focus area")
    for kind, path in report.digest_paths.items():
        console.print(f"digest ({kind}): {path}")
    if report.failed_sources:
        err.print("[yellow]unreachable or failed sources:[/] "
                  + escape(", ".join(report.failed_sources)))
    for problem in report.problems:
        err.print(f"partial: {problem}", markup=False, highlight=False)
    if partial is not None:
        raise fail(f"the run was partial ({len(report.problems)} problems); "
                   "--allow-partial to accept that")



def _evaluation_table(title: str, result: Evaluation) -> Table:
    table = Table(title=title)
    for col in ("area", "precision", "recall", "F1", "support"):
        table.add_column(col, justify="left" if col == "area" else "right")
    for area, sc in result.areas.items():
        table.add_row(area, f"{sc.precision:.3f}", f"{sc.recall:.3f}", f"{sc.f1:.3f}",
                      str(sc.support))
    table.add_row("[bold]macro-F1[/]", "", "", f"[bold]{result.macro_f1:.3f}[/]", "")
    table.add_row("none of the six", f"{result.none.precision:.3f}",
                  f"{result.none.recall:.3f}", f"{result.none.f1:.3f}",
                  str(result.none.support))
    return table


def _confusions(result: Evaluation) -> str:
    top = sorted(result.confusions.items(), key=lambda kv: -kv[1])[:8]
    return "confusions (gold → predicted instead): " + (", ".join(
        f"{g}→{p} ×{n}" for (g, p), n in top) or "none")


def _methods_table(title: str, results: dict[str, Evaluation],
                   ceiling: Evaluation | None = None) -> Table:
    """Every method on one line: macro-F1, "none" precision and recall, and the two
    figures the head is watched on, education precision and migration recall."""
    table = Table(title=title)
    for col in ("method", "macro-F1", "none precision", "none recall",
                "education precision", "migration recall", "ECE"):
        table.add_column(col, justify="left" if col == "method" else "right")
    rows = list(results.items()) + ([("(ceiling: a careful reader vs these labels)",
                                      ceiling)] if ceiling else [])
    for name, res in rows:
        none = (f"{res.none.precision:.3f}", f"{res.none.recall:.3f}") if res.none.support \
            or res.none.fp else ("", "")
        table.add_row(name, f"{res.macro_f1:.3f}", *none,
                      f"{res.areas['utbildning'].precision:.3f}" if "utbildning" in res.areas
                      else "", f"{res.areas['migration'].recall:.3f}"
                      if "migration" in res.areas else "",
                      "" if res.ece is None else f"{res.ece:.3f}")
    return table


def _watched(results: dict[str, Evaluation], names: list[str]) -> list[str]:
    """Education precision and migration recall, each on its own line, new beside old."""
    lines = []
    for area, what in (("utbildning", "precision"), ("migration", "recall")):
        if not all(area in results[n].areas for n in names):
            continue
        figures = ", ".join(f"{n} {getattr(results[n].areas[area], what):.3f}" for n in names)
        lines.append(f"{area} {what}: {figures}")
    return lines


@app.command(name="eval")
def evaluate_cmd(
    file: Annotated[Path, typer.Argument(help="Labelled documents, one JSON object a line.")],
    cv: Annotated[int, typer.Option(help="Cross-validate with this many folds (train and "
                                         "test on FILE), against the baselines.")] = 0,
    weak: Annotated[list[Path] | None, typer.Option(
        help="Weakly labelled documents for the training side of each fold "
             "(default: the shipped weak corpus).")] = None,
    no_weak: Annotated[bool, typer.Option("--no-weak", help="Train folds on FILE only.")
                       ] = False,
    check: Annotated[Path | None, typer.Option(
        help="With --cv, the second held-out check: weakly labelled documents unlike FILE "
             "that nothing is trained on (default: the shipped Riksdagen sample).")] = None,
    no_check: Annotated[bool, typer.Option("--no-check", help="Skip the second check.")
                        ] = False,
    backend: Annotated[str | None, typer.Option(help="Encoder backend override.")] = None,
    head: Annotated[str | None, typer.Option(
        help="'default', 'none' (zero-shot) or a head file.")] = None,
) -> None:
    """Per-area precision, recall and F1, macro-F1 and "none of the six" against labelled
    documents; with --cv, out-of-fold and beside the earlier head's recipe and the
    baselines (vocabulary rules, TF-IDF + logistic regression, logistic regression on the
    embeddings), then the second check: the same methods trained on FILE and the weak
    corpus, scored on documents unlike FILE against their weak labels and the ceiling
    those labels allow.

    Example: omvarld eval ../shared/data/dev.jsonl --cv 5
    """
    from omvarld.core.settings import get_settings
    from omvarld.nlp.evaluate import evaluate, read_labelled
    from omvarld.nlp.training import (
        DEFAULT_CHECK,
        DEFAULT_VECTORS,
        DEFAULT_WEAK,
        Corpus,
        cross_validate,
        earlier_name,
        held_out_check,
        label_quality,
        text_sha256,
    )
    from omvarld.nlp.vectorcache import VectorFile
    from omvarld.pipeline.classify import build_classifier

    with errors():
        s = get_settings()
        classifier = build_classifier(Path(s.config_dir), backend or s.model_backend,
                                      s.model_dir, s.batch_size,
                                      "none" if cv else (head or s.head))
        docs = read_labelled(file, classifier.areas.ids)
        if cv:
            weak_files = [] if no_weak else list(weak or DEFAULT_WEAK)
            weak_docs, quality = [], []
            for f in weak_files:
                got = read_labelled(f, classifier.areas.ids)
                weak_docs += got
                quality += [label_quality(f)] * len(got)
            check_file = None if no_check else (check or DEFAULT_CHECK)
            check_docs = read_labelled(check_file, classifier.areas.ids) if check_file else []
            cache = VectorFile(DEFAULT_VECTORS)
            classifier = classifier.with_cache(cache)
            with progress_bar() as progress:
                task = progress.add_task("features", total=len(docs) + len(weak_docs))
                results = cross_validate(classifier, docs, weak_docs, folds=cv,
                                         weak_quality=quality, earlier=True,
                                         progress=lambda d, t: progress.update(task,
                                                                               completed=d))
                second = None
                if check_file:
                    task = progress.add_task("second check", total=len(docs) + len(
                        weak_docs) + len(check_docs))
                    second = held_out_check(
                        classifier, Corpus(careful=docs, weak=weak_docs,
                                           weak_quality=quality),
                        check_docs, label_quality(check_file),
                        progress=lambda d, t: progress.update(task, completed=d))
            cache.save()
        else:
            with progress_bar() as progress:
                task = progress.add_task("classifying", total=len(docs))
                result = evaluate(classifier, docs,
                                  progress=lambda d, t: progress.update(task, completed=d))
    if not cv:
        trained_on = getattr(classifier.head, "meta", {}).get("files", {})
        if text_sha256(file) in trained_on.values():
            err.print(f"[yellow]warning:[/] the head was trained on {escape(file.name)}: these "
                      "figures are not a test; use --cv for held-out figures")
        console.print(_evaluation_table(
            f"{file.name}: {result.documents} documents ({classifier.version})", result))
        console.print(_confusions(result))
        return
    console.print(_methods_table(
        f"{file.name}: {len(docs)} documents, {cv}-fold cross-validation"
        + ("" if no_weak else f", + {len(weak_docs)} weak for training"), results))
    new = "learned head (careful + weak)" if weak_docs else "learned head (careful only)"
    for line in _watched(results, [new, earlier_name(bool(weak_docs))]):
        console.print(line)
    console.print(_evaluation_table(f"{new}, per area (out-of-fold)", results[new]))
    console.print(_confusions(results[new]))
    if second is not None:
        console.print(_methods_table(
            f"second check: {check_file.name}, {second.documents} documents never trained "
            "on, against their weak labels", second.results, second.ceiling))
        for line in _watched(second.results, [new, earlier_name(bool(weak_docs))]):
            console.print(line)
        console.print(_evaluation_table(f"{new}, per area, second check", second.results[new]))


@app.command()
def train(
    files: Annotated[list[Path] | None, typer.Argument(
        help="Carefully labelled documents (default: the shipped development set).")] = None,
    weak: Annotated[list[Path] | None, typer.Option(
        help="Weakly labelled documents (default: the shipped weak corpus).")] = None,
    no_weak: Annotated[bool, typer.Option("--no-weak", help="Use no weak labels.")] = False,
    weak_weight: Annotated[float, typer.Option(min=0.0, max=1.0,
                                               help="Weight of a weak label.")] = 0.3,
    feedback: Annotated[bool, typer.Option(help="Include analysts' corrections from the "
                                                "store.")] = True,
    out: Annotated[Path | None, typer.Option(help="Head file to write (default: the shipped "
                                                  "one, nlp/data/head.json).")] = None,
) -> None:
    """Train the learned head from labelled documents (the format of dev.jsonl), analysts'
    corrections and weak labels; per-area thresholds by cross-validation.

    Example: omvarld train
    """
    from omvarld.nlp.head import DEFAULT_HEAD
    from omvarld.nlp.training import DEFAULT_CAREFUL, DEFAULT_WEAK, load_corpus
    from omvarld.nlp.training import train as train_head
    from omvarld.pipeline.classify import classifier_for
    from omvarld.store import Store

    with errors():
        classifier = classifier_for(None, "none")
        corpus = load_corpus(files or DEFAULT_CAREFUL, [] if no_weak else (weak or DEFAULT_WEAK),
                             classifier.areas.ids,
                             Store.open().corrected_documents(classifier.areas.ids)
                             if feedback else ())
        with progress_bar() as progress:
            task = progress.add_task("features", total=len(corpus.careful) + len(corpus.weak))
            head = train_head(classifier, corpus, weak_weight=weak_weight,
                              out=out or DEFAULT_HEAD,
                              progress=lambda d, t: progress.update(task, completed=d))
    cv = head.meta["cross_validated"]
    console.print(f"{head.version}: {head.meta['careful_documents']} careful + "
                  f"{head.meta['weak_documents']} weak documents → {out or DEFAULT_HEAD}")
    console.print(f"cross-validated on the careful labels: macro-F1 {cv['macro_f1']:.3f}, "
                  f"none precision {cv['none_precision']:.3f}")
    console.print("thresholds: " + ", ".join(f"{a} {t:.2f}" for a, t in head.thresholds.items()))
