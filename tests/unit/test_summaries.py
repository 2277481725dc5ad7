"""The one sentence splitter (`omvarld.nlp.text`) and the summaries it makes: content
sentences in whole, never metadata, glued words or a sentence cut in the middle.

The documents are the replayed week's, as the store holds them
(tests/fixtures/summaries/PROVENANCE.md)."""

from __future__ import annotations

import json

import pytest

from conftest import FIXTURES
from omvarld.nlp.text import (
    analyse,
    cap_sentences,
    is_content_sentence,
    is_metadata,
    sentence_spans,
    split_sentences,
    summarize,
)

DOCS = json.loads((FIXTURES / "summaries/replayed_documents.json").read_text(encoding="utf-8"))
HYS_MOBILITY = DOCS["https://ec.europa.eu/info/law/better-regulation/have-your-say/initiatives/20203"]
HYS_SKILLS = DOCS["https://ec.europa.eu/info/law/better-regulation/have-your-say/initiatives/20187"]
EURLEX = DOCS["https://eur-lex.europa.eu/legal-content/SV/TXT/?uri=CELEX%3A52018PC0340"]
KOLLEKTIVTRAFIK = next(d for u, d in DOCS.items() if "ordningsregler" in u)
DIREKTIV = next(d for u, d in DOCS.items() if "dir.-201729" in u)


def summary_of(doc: dict) -> str:
    return summarize(doc["title"], doc["summary"], doc["text"])


def test_a_portals_type_of_act_and_topics_are_not_the_summary():
    assert HYS_MOBILITY["summary"].startswith("Draft act on a delegated regulation. Topics:")
    assert summary_of(HYS_MOBILITY).startswith(
        "The Commission intends to specify, by delegated act, the minimum content of "
        "sustainable urban mobility plans")
    assert "Topics" not in summary_of(HYS_SKILLS)
    assert summary_of(HYS_SKILLS).startswith("Employers across the EU report shortages")


def test_a_notice_with_only_metadata_has_no_summary():
    assert EURLEX["summary"].startswith("Lagförslag · COM/2018/340 final")
    assert summary_of(EURLEX) == ""


def test_a_heading_glued_to_the_next_line_is_split_and_left_out():
    assert "kollektivtrafikenDiarienummer" in KOLLEKTIVTRAFIK["text"]
    summary = summary_of(KOLLEKTIVTRAFIK)
    assert summary == (
        "Här kan du ta del av till vilka instanser som regeringen har remitterat promemoriorna "
        "Enhetligare ordningsregler för kollektivtrafiken och En nationell rapporteringsväg för "
        "kollektivtrafiken. Sista dag att svara på remissen är den 27 april 2026.")
    assert "Diarienummer" not in summary


def test_a_summary_the_source_cut_off_gives_way_to_the_whole_sentence_in_the_text():
    summary = summary_of(DIREKTIV)
    assert summary.startswith("Regeringen beslutade den 7 juli 2016 kommittédirektiv")
    assert not summary.endswith(("...", "…", "(dir."))
    assert summary.endswith(".")


@pytest.mark.parametrize("doc", list(DOCS.values()), ids=list(range(len(DOCS))))
def test_every_summary_is_whole_sentences_within_the_limit(doc):
    summary = summary_of(doc)
    assert len(summary) <= 600
    assert summary == "" or summary.endswith((".", "!", "?", "”", '"'))


def test_abbreviations_initials_and_headings_do_not_end_or_start_a_sentence():
    text = ("Ny lag om arbetsmarknad\n\nSammanfattning\nRegeringen föreslår bl.a. nya regler "
            "enligt kap. 3 för A. Andersson. Lagen gäller 2027. Tredje meningen.")
    assert split_sentences(text) == [
        "Regeringen föreslår bl.a. nya regler enligt kap. 3 för A. Andersson.",
        "Lagen gäller 2027.", "Tredje meningen."]
    assert [s.heading for s in sentence_spans(text)] == [True, True, False, False, False]
    assert summarize("Ny lag om arbetsmarknad", "", text) == (
        "Regeringen föreslår bl.a. nya regler enligt kap. 3 för A. Andersson. Lagen gäller 2027.")


def test_the_spacy_pipeline_has_the_same_sentences():
    text = ("Ny lag om arbetsmarknad\n\nRegeringen föreslår bl.a. nya regler enligt kap. 3. "
            "Lagen gäller 2027.\nRemiss av promemoriornaDiarienummer: LI2025/02164")
    sentences = [" ".join(s.text.split()) for s in analyse(text, "sv").sents]
    assert sentences == ["Ny lag om arbetsmarknad",
                         "Regeringen föreslår bl.a. nya regler enligt kap. 3.",
                         "Lagen gäller 2027.", "Remiss av promemoriornaDiarienummer: LI2025/02164"]


def test_the_documents_own_summary_comes_first_and_repeats_are_dropped():
    assert summarize("T", "Egen sammanfattning. Andra meningen. Tredje.", "Text här.") == (
        "Egen sammanfattning. Andra meningen.")
    title = "Regeringens proposition om nya regler för arbetsmarknadsinsatser för nyanlända"
    assert summarize(title, "", f"{title}\nRegeringen föreslår nya regler. De gäller 2027.") == (
        "Regeringen föreslår nya regler. De gäller 2027.")


def test_whole_sentences_are_kept_and_only_an_overlong_one_is_cut():
    first, second = "Ord " * 60 + "slut.", "Andra meningen är kort."
    assert cap_sentences([first.strip(), second], 400) == first.strip() + " " + second
    assert cap_sentences(["a " * 100 + "b.", "c " * 100 + "d."], 400) == "a " * 100 + "b."
    assert cap_sentences(["ord " * 300], 400).endswith("…")


@pytest.mark.parametrize("line", ["Topics: Transport.", "Diarienummer: LI2025/02164.",
                                  "Lagförslag · COM/2018/340 final · förfarande 2018/0172.",
                                  "Call for evidence on a proposal for a regulation.",
                                  "Ladda ner:", "2026-11-20 – 2026-12-18."])
def test_metadata_is_not_a_content_sentence(line):
    assert not is_content_sentence(line)


def test_an_evidence_line_of_subjects_is_metadata():
    subjects = next(line for line in EURLEX["text"].splitlines() if line.startswith("Subjects"))
    assert is_metadata(subjects)
    assert not is_metadata(summary_of(HYS_MOBILITY))


def test_the_classify_stage_stores_the_summary_the_digest_shows(store, classifier):
    from datetime import date, datetime

    from omvarld.core.model import Document
    from omvarld.digest.build import build_digest
    from omvarld.pipeline.classify import classify_pending

    doc = Document(url="https://ec.europa.eu/hys/20203", source="have_your_say",
                   publisher="European Commission", level="eu", doc_type="consultation",
                   title=HYS_MOBILITY["title"], summary=HYS_MOBILITY["summary"],
                   text=HYS_MOBILITY["text"], language="en", published=date(2026, 11, 20))
    store.save_document(doc, now=datetime(2026, 11, 18, 9))
    classify_pending(store, classifier)
    (row,) = store.documents()
    stored = {lb.evidence.get("summary") for lb in row.labels}
    assert stored == {summary_of(HYS_MOBILITY)}
    # The digest reads it back rather than working it out again.
    with store.session() as s:
        from omvarld.store.tables import LabelRow

        for label in s.query(LabelRow):
            label.evidence = {**label.evidence, "summary": "Lagrad sammanfattning."}
            label.accepted = True
    from conftest import PROJECT
    from omvarld.config.load import load_focus_areas

    digest = build_digest(store, "2026-W47", areas=load_focus_areas(PROJECT / "config"),
                          now=datetime(2026, 11, 23, 7), with_watches=False)
    assert {e.summary for entries in digest.areas.values() for e in entries} == {
        "Lagrad sammanfattning."}
