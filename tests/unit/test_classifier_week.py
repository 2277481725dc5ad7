"""The recorded week (the replayed Riksdagen and regeringen.se responses the weekly flow
tests crawl), classified into a real SQLite store by the shipped head: no stored label rests
on page furniture ("Ansvarig: Utbildningsdepartementet", "Ladda ner:", the document chain)
or on a publisher's, ministry's or agency's name. The check is written apart from the
classifier's own rules: every evidence term of an accepted label must still be found in the
document once its furniture lines and every such name are taken out."""

from __future__ import annotations

import re

import pytest
import yaml

from conftest import FIXTURES, PROJECT
from factories import LOCAL, run_offline
from omvarld.crawl.replay import ReplayServer
from omvarld.crawl.sources.regeringen import RegeringenSpider
from omvarld.crawl.sources.riksdagen import RiksdagenSpider
from omvarld.nlp.classifier import FocusAreaClassifier
from omvarld.nlp.head import load_default_head
from omvarld.nlp.text import analyse, lemma
from omvarld.pipeline.classify import classify_pending

# What a reader of these pages calls furniture: regeringen.se's metadata block, download
# links and "Lagstiftningskedjan" list; Riksdagen's signature and reservation lines.
FURNITURE = re.compile(
    r"^\W*(?:(?:ansvarig|id-nummer|diarienummer|ladda ner)\s*:.*|ladda ner|lagstiftningskedjan"
    r"|.{3,60}\(\d+ st\)|i betänkandet finns \d+ reservation.*|(?:\|?\s*[\w .-]+ \([A-Z]{1,3}\)"
    r"\s*\|?\s*)+)\W*$", re.IGNORECASE | re.MULTILINE)
# Ministries, agencies and inquiries, however they are compounded.
BODY_NAME = re.compile(r"\b[A-ZÅÄÖ]\w*(?:departementet|verket|förmedlingen|styrelsen|"
                       r"inspektionen|myndigheten|utredningen|beredningen|ministeriet)s?\b")


def publishers() -> list[str]:
    sources = yaml.safe_load((PROJECT / "config" / "sources.yaml").read_text())["sources"]
    return sorted({s["publisher"] for s in sources}, key=len, reverse=True)


def without_furniture_and_names(text: str) -> str:
    text = FURNITURE.sub(" ", text)
    for name in publishers():
        text = text.replace(name, " ")
    return BODY_NAME.sub(" ", text)


@pytest.fixture(scope="module")
def week(tmp_path_factory, focus_areas, classifier_config, nano_encoder):
    from omvarld.store import Store

    server = ReplayServer(FIXTURES)
    docs = [d for spider in (RiksdagenSpider(base_url=f"{LOCAL}/riksdagen"),
                             RegeringenSpider(base_url=f"{LOCAL}/regeringen"))
            for d in run_offline(spider, server)]
    store = Store.open(f"sqlite:///{tmp_path_factory.mktemp('week')}/week.sqlite")
    for doc in docs:
        store.save_document(doc)
    head = load_default_head(focus_areas.ids, nano_encoder.model_id)
    assert head is not None, "the shipped head must fit the configured areas and model"
    clf = FocusAreaClassifier(focus_areas, classifier_config, nano_encoder, cache=store,
                              head=head)
    classify_pending(store, clf)
    yield store.documents()
    store.close()


def test_the_week_is_crawled_and_classified(week):
    assert len(week) == 13
    assert all(len(d.labels) == 6 for d in week)
    assert sum(bool([lb for lb in d.labels if lb.accepted]) for d in week) >= 5


def test_furniture_and_names_are_on_the_recorded_pages(week):
    """The check below has something to find: these pages do carry furniture and names
    (regeringen.se's "Ansvarig: …" line is on the recorded pages; the spider keeps it as the
    responsible ministry, out of the text)."""
    pages = b"".join(p.read_bytes() for p in (FIXTURES / "regeringen").glob("*.html"))
    assert b"Ansvarig:" in pages and b"Utbildningsdepartementet" in pages
    assert any(d.responsible == "Utbildningsdepartementet" for d in week)
    texts = "\n".join(d.text for d in week)
    assert FURNITURE.search(texts) and BODY_NAME.search(texts)


def test_no_stored_label_rests_on_furniture_or_a_publishers_name(week):
    checked = 0
    for doc in week:
        lang = doc.language if doc.language in ("sv", "en", "da") else "sv"
        body = without_furniture_and_names("\n\n".join(
            p for p in (doc.title, doc.summary, doc.text) if p))
        lemmas = {t.lemma_ for t in analyse(body, lang)}
        low = body.lower()
        for label in (lb for lb in doc.labels if lb.accepted):
            for term in label.evidence["terms"]:
                parts = [lemma(w, lang) for w in re.findall(r"\w+", term)]
                assert all(p in lemmas or p in low for p in parts), (doc.title, term)
                checked += 1
            sentence = label.evidence.get("sentence")
            if sentence:
                assert not FURNITURE.fullmatch(sentence.strip()), (doc.title, sentence)
                assert not any(sentence.strip() == n for n in publishers())
    assert checked >= 5


def test_a_ministry_named_in_the_furniture_gives_no_label(week):
    """regeringen.se's "Ansvarig: Utbildningsdepartementet" on a page about the ethics
    review of research: education, if accepted, must have terms of its own."""
    (doc,) = [d for d in week if "etikprövning" in d.title]
    (edu,) = [lb for lb in doc.labels if lb.area == "utbildning"]
    assert "utbildning" not in [t.lower() for t in edu.evidence["terms"]]
    if edu.accepted:
        assert edu.evidence["terms"]

