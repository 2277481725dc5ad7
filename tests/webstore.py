"""The store the web tests run on (a factory the web tests import): the 72 real
documents of the labelled development set (tests/fixtures/labelled/dev.jsonl) saved through
`Store.save_document`, their hand labels stored as accepted labels through
`Store.save_labels` (with the evidence a reader checks: the area's vocabulary terms found
in the text and the sentence holding most of them), the configured stakeholders
(config/stakeholders.yaml) the text names, by plain name match through
`Store.save_annotations` (the spaCy annotator costs ~20 s to load and is tested on its
own), and a few hostile or special documents (a script title, HTML in the text, an open
consultation).

The store is built once per test session (`web_store_template`) and copied per module;
tests/unit/test_web_store.py checks that it is what the web tests assume."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from omvarld.config.load import load_focus_areas, load_stakeholders
from omvarld.core.areas import FocusAreas
from omvarld.core.model import Document, Evidence, Label
from omvarld.store import Store

FIXTURES = Path(__file__).parent / "fixtures"
CONFIG = Path(__file__).parent.parent / "config"
SCRIPT_TITLE = "<script>alert(1)</script> Bostäder för alla"
HTML_TEXT = ('Förslaget gäller bostadsbyggande. <img src=x onerror="alert(2)"> '
             '<b>fet</b> & <a href="javascript:alert(3)">länk</a>')
MODEL_VERSION = "dev-set-hand-labels"
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _source_of(record: dict) -> tuple[str, str, str]:
    """(source id, publisher, document type) from a dev record's provenance fields."""
    prefix = record["id"].rsplit("-", 1)[0]
    source = {"se-gov": "regeringen", "eu-lsu": "eurlex", "pg": "web"}.get(prefix, prefix)
    publisher = record["source"].split(" (")[0].split(" / ")[0].strip()
    kind = record["source"].lower()
    doc_type = ("sou" if "(sou)" in kind else "press_release" if "pressmeddelande" in kind
                else "law" if source == "eurlex" else "report")
    return source, publisher, doc_type


def _published(value: str | None) -> date | None:
    if not value:
        return None
    if len(value) == 4:
        return date(int(value), 1, 1)
    if len(value) == 7:
        return date.fromisoformat(value + "-01")
    return date.fromisoformat(value[:10])


def _evidence(text: str, terms: list[str]) -> Evidence:
    lowered = text.lower()
    found = [t for t in terms if t.lower() in lowered][:6]
    best = max(_SENTENCE.split(text), key=lambda s: sum(t.lower() in s.lower() for t in found),
               default=None) if found else None
    return Evidence(terms=found, sentence=best[:300] if best else None)


def _labels(areas: FocusAreas, gold: list[str], text: str, language: str, seed: int
            ) -> list[Label]:
    out = []
    for i, area in enumerate(areas.areas):
        accepted = area.id in gold
        score = round(0.62 + ((seed + 7 * i) % 30) / 100, 2) if accepted else round(
            0.02 + ((seed + 3 * i) % 20) / 100, 2)
        terms = area.vocabulary.get(language) or area.vocabulary.get("sv") or []
        out.append(Label(area=area.id, score=score, threshold=0.5,
                         evidence=_evidence(text, terms) if accepted else Evidence(),
                         model_version=MODEL_VERSION))
    return out


def _save(store: Store, doc: Document, labels: list[Label], now: datetime) -> int:
    store.save_document(doc, now=now)
    with store.session() as s:
        from sqlalchemy import select

        from omvarld.store.tables import DocumentRow

        row = s.scalar(select(DocumentRow).where(DocumentRow.url == doc.url))
        doc_id, content_hash = row.id, row.content_hash
    store.save_labels(doc_id, content_hash, labels)
    return doc_id


def _annotate(store: Store, doc_ids) -> None:
    entries = load_stakeholders(CONFIG).stakeholders
    for row in store.documents_by_ids(list(doc_ids)):
        text = f"{row.title}\n{row.text}"
        found = []
        for entry in entries:
            count = sum(len(re.findall(rf"\b{re.escape(n)}\b", text))
                        for n in [entry.name, *entry.aliases])
            if count:
                found.append((entry.name, entry.kind, count))
        store.save_annotations(row.id, found, [])


def build_store(target: Path | str, *, now: datetime | None = None) -> dict[str, int]:
    """Fill a new store — a SQLite file at `target`, or a database URL — and return the
    documents' ids by dev-set id (and "script", "remiss" for the special ones)."""
    now = now or datetime(2026, 11, 18, 9, 0)
    areas = load_focus_areas(CONFIG)
    store = Store.open(target if isinstance(target, str) else f"sqlite:///{target}")
    ids: dict[str, int] = {}
    try:
        records = [json.loads(line) for line in
                   (FIXTURES / "labelled" / "dev.jsonl").read_text("utf-8").splitlines()
                   if line.strip()]
        for n, rec in enumerate(records):
            source, publisher, doc_type = _source_of(rec)
            doc = Document(url=rec["url"], source=source, publisher=publisher,
                           level=rec["level"], doc_type=doc_type, title=rec["title"],
                           text=rec["text"], language=rec["language"],
                           published=_published(rec.get("date")))
            ids[rec["id"]] = _save(store, doc, _labels(areas, rec["labels"], rec["text"],
                                                       rec["language"], n), now)
        specials = {
            "script": Document(
                url="https://example.org/hostile/script", source="web", publisher="Okänd",
                level="local", doc_type="news", title=SCRIPT_TITLE, text=HTML_TEXT,
                summary="<i>kursiv</i> sammanfattning", language="sv",
                published=date(2026, 11, 17)),
            "remiss": Document(
                url="https://www.regeringen.se/remisser/2026/11/test-remiss-bostader/",
                source="regeringen", publisher="Regeringskansliet", level="national",
                doc_type="remiss", title="Remiss: snabbare bostadsbyggande i storstäderna",
                text="Regeringen remitterar ett förslag om snabbare planprocesser för "
                     "bostadsbyggande. Malmö stad och Region Skåne är remissinstanser.",
                language="sv", published=date(2026, 11, 16),
                deadline=now.date() + timedelta(days=400)),
        }
        bostader = [a.id for a in areas.areas if a.id == "bostader"]
        for name, doc in specials.items():
            ids[name] = _save(store, doc, _labels(areas, bostader, doc.text, "sv", 3), now)
        _annotate(store, ids.values())
        # The consultation and the press release on housing supply are one story.
        store.set_story([ids["remiss"], ids["se-gov-652d57035d"]], ids["se-gov-652d57035d"])
    finally:
        store.close()
    return ids


def web_store_copy(tmp_path_factory: pytest.TempPathFactory, name: str
                   ) -> tuple[Path, dict[str, int]]:
    """A private copy of the session's web store (built on first use) and its ids."""
    base = tmp_path_factory.getbasetemp() / "web-store-template"
    template, ids_file = base / "store.sqlite", base / "ids.json"
    if not ids_file.exists():
        base.mkdir(exist_ok=True)
        ids_file.write_text(json.dumps(build_store(template)))
    target = tmp_path_factory.mktemp(name) / "store.sqlite"
    with sqlite3.connect(template) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return target, json.loads(ids_file.read_text())




ORIGIN = "http://127.0.0.1"


def web_client(app, *, origin: bool = True):
    """A client of `app` as a browser on this machine reaches it: Host 127.0.0.1, and
    (unless `origin` is False) the Origin header browsers send with every POST."""
    from fastapi.testclient import TestClient

    return TestClient(app, base_url=ORIGIN, headers={"origin": ORIGIN} if origin else None)
