"""Stakeholder recognition on real text (tests/fixtures/labelled/dev.jsonl and the recorded
regeringen pages): canonical names, aliases, letter case, genitives, languages."""

from __future__ import annotations

import json
import logging

import pytest

from conftest import FIXTURES, PROJECT
from omvarld.config.load import load_stakeholders
from omvarld.nlp.entities import extract_stakeholders, gazetteer, get_entity_pipeline
from omvarld.nlp.text import get_pipeline

CONFIG = PROJECT / "config"
DEV = {
    (row := json.loads(line))["title"]: row
    for line in (FIXTURES / "labelled/dev.jsonl").read_text(encoding="utf-8").splitlines()
}
SKANE_MUNICIPALITIES = (
    "Bjuv", "Bromölla", "Burlöv", "Båstad", "Eslöv", "Helsingborg", "Hässleholm", "Höganäs",
    "Hörby", "Höör", "Klippan", "Kristianstad", "Kävlinge", "Landskrona", "Lomma", "Lund",
    "Malmö", "Osby", "Perstorp", "Simrishamn", "Sjöbo", "Skurup", "Staffanstorp", "Svalöv",
    "Svedala", "Tomelilla", "Trelleborg", "Vellinge", "Ystad", "Åstorp", "Ängelholm",
    "Örkelljunga", "Östra Göinge",
)


def names(text: str, lang: str = "sv") -> dict[str, int]:
    return {m.name: m.count for m in extract_stakeholders(text, lang, CONFIG)}


def dev_text(title: str) -> tuple[str, str]:
    row = DEV[title]
    return f"{row['title']}\n{row['text']}", row["language"]


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Fler arbetslösa ska flytta för att få jobb", {"Arbetsförmedlingen": 2}),
        ("Asylsökande och nyanlända", {"Migrationsverket": 5, "Malmö stad": 1}),
        ("Arbetsmarknad", {"Region Skåne": 4}),
        ("Malmö pilotkommun för myndigheter som kraftsamlar mot arbetslösheten",
         {"Malmö stad": 1, "Arbetsförmedlingen": 1, "Försäkringskassan": 1, "Region Skåne": 1}),
        ("Statskontoret får i uppdrag att se över asylprocessen",
         {"Statskontoret": 4, "Migrationsverket": 1, "Justitiedepartementet": 1}),
    ],
)
def test_stakeholders_of_real_documents_by_canonical_name(title, expected):
    found = names(*dev_text(title))
    assert {name: found.get(name) for name in expected} == expected


def test_aliases_resolve_to_the_canonical_name():
    # Länsstyrelsen Skåne writes its own name short: "Vårt mål på Länsstyrelsen Skåne …"
    assert "Länsstyrelsen i Skåne län" in names(*dev_text("Mottagning och etablering av nyanlända"))
    # "Regeringskansliet" and "Regeringens" are the government
    found = names(*dev_text("Etableringsjobb för långtidsarbetslösa och nyanlända"))
    assert found["Regeringen"] == 2
    assert names("SKR, Sveriges Kommuner och Regioner och SKR:s styrelse.") == {
        "Sveriges Kommuner och Regioner": 3}
    assert names("Malmö kommun och Malmö stad samarbetar med Helsingborgs kommun.") == {
        "Malmö stad": 2, "Helsingborgs stad": 1}


def test_names_match_in_any_case_and_in_the_genitive():
    assert names("Region Skåne, region skåne, REGION SKÅNE och Region Skånes styrelse.") == {
        "Region Skåne": 4}
    assert names("Arbetsförmedlingens uppdrag och Trafikverkets plan.") == {
        "Arbetsförmedlingen": 1, "Trafikverket": 1}


def test_acronyms_and_short_names_match_only_as_written():
    assert names("Nya regler formas av skr. 2022/23:12 och brå beslut.") == {}
    assert names("Formas och Brå finansierar.") == {"Formas": 1, "Brottsförebyggande rådet": 1}


def test_an_ordinary_phrase_is_not_the_organisation_of_the_same_words():
    """Länsstyrelsen's real text speaks of "Skånes kommuner" (Skåne's municipalities);
    "Skånes Kommuner" is their association."""
    text, lang = dev_text("Mottagning och etablering av nyanlända")
    assert "i Skånes kommuner" in text
    assert "Skånes Kommuner" not in names(text, lang)
    assert names("Skånes Kommuner och alla Sveriges kommuner och regioner.") == {
        "Skånes Kommuner": 1}


def test_regeringen_is_the_government_of_the_texts_language():
    text, lang = dev_text("Beskæftigelsesminister Ane Halsboe-Jørgensens kommentar til "
                          "ledighedstallet for december 2022")
    assert lang == "da"
    assert "Regeringen" not in names(text, lang)
    assert "Den danske regering" in names(text, lang)
    assert names("Regeringen har i dag beslutat.", "sv") == {"Regeringen": 1}


def test_english_and_danish_names_of_eu_institutions():
    text, lang = dev_text("Employment as seasonal workers")
    assert {"Europeiska kommissionen", "Europaparlamentet"} <= set(names(text, lang))
    assert names("Europa-Kommissionen og Folketinget; Københavns kommune.", "da") == {
        "Europeiska kommissionen": 1, "Folketinget": 1, "Københavns Kommune": 1}


def test_real_press_release_of_regeringen():
    text = (FIXTURES / "regeringen/g0v-mirror_pressmeddelande_etableringsjobb_page-as-markdown"
            ".txt").read_text(encoding="utf-8")
    found = extract_stakeholders(text, "sv", CONFIG)
    assert found[0].name == "Arbetsförmedlingen"
    assert found[0].kind == "authority"


def test_counts_and_kinds_come_most_named_first():
    found = extract_stakeholders("Boverket, Boverket och Region Skåne.", "sv", CONFIG)
    assert [tuple(m) for m in found] == [("Boverket", "authority", 2),
                                        ("Region Skåne", "region", 1)]


def test_every_skane_municipality_is_known_as_a_municipality():
    entries = load_stakeholders(CONFIG).stakeholders
    municipalities = [e.name for e in entries if e.kind == "municipality"]
    for place in SKANE_MUNICIPALITIES:
        assert any(name.startswith(place) for name in municipalities), place
    assert len([n for n in municipalities
                if any(n.startswith(p) for p in SKANE_MUNICIPALITIES)]) == 33


def test_no_two_entries_claim_the_same_words(caplog):
    stakeholders = load_stakeholders(CONFIG)
    with caplog.at_level(logging.WARNING, logger="omvarld.nlp.entities"):
        for lang in ("sv", "en", "da"):
            gazetteer(stakeholders, lang)
    assert not caplog.records, [r.getMessage() for r in caplog.records]


def test_entity_pipeline_extends_the_text_pipeline_without_changing_it():
    nlp = get_entity_pipeline("sv", CONFIG)
    assert nlp.pipe_names[:-1] == get_pipeline("sv").pipe_names
    assert "omvarld_stakeholders" not in get_pipeline("sv").pipe_names
    doc = nlp("Regeringen ger Boverket i uppdrag enl. prop. 2025/26:45. Nästa mening.")
    assert [(e.text, e.ent_id_, e.label_) for e in doc.ents] == [
        ("Regeringen", "Regeringen", "government"), ("Boverket", "Boverket", "authority")]
    assert len(list(doc.sents)) == 2  # no split after "enl." or "prop."
    assert doc[0].lemma_ == "regering"


@pytest.mark.parametrize("text", ["", "   ", "\x00", "x" * 200_000, "Boverket " * 50_000])
def test_bad_input_never_raises(text):
    assert isinstance(extract_stakeholders(text, "und", CONFIG), list)
