"""Malmö's positions (`config/positions.yaml`): the shipped file, its validation, and which
real documents (tests/fixtures/labelled/dev.jsonl) touch which position."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from factories import NOW, WEEK, add
from omvarld.config.load import load_focus_areas
from omvarld.core.errors import ConfigError
from omvarld.digest.build import build_digest
from omvarld.digest.positions import PositionMatcher, load_positions
from omvarld.digest.render import render_html, render_markdown
from omvarld.store import Store

CONFIG = Path(__file__).resolve().parent.parent.parent / "config"
DEV = Path(__file__).resolve().parent.parent / "fixtures" / "labelled" / "dev.jsonl"


def dev_documents() -> dict[str, dict]:
    with DEV.open(encoding="utf-8") as handle:
        return {d["id"]: d for d in map(json.loads, handle)}


# -- the file -----------------------------------------------------------------------------


def test_the_shipped_positions_cover_every_area_with_sources():
    positions = load_positions(CONFIG).check_areas(load_focus_areas(CONFIG))

    assert len(positions.positions) == 31
    assert Counter(p.area for p in positions.positions) == {
        "transport": 7, "migration": 6, "arbetsmarknad": 5, "miljo": 5, "utbildning": 4,
        "bostader": 4,
    }
    assert all(p.source and p.source.startswith("http") and p.quote for p in positions.positions)
    settlement = positions.get("bosattningslagen")
    assert settlement.area == "migration" and "bosättningslagen" in settlement.terms["sv"]
    assert settlement.short.startswith("Malmö vill att bosättningslagen ses över")


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (lambda t: t.replace("area: migration", "area: hamnar", 1),
         "positions[bosattningslagen].area"),
        (lambda t: t.replace("kind: malmo", "kind: rykte", 1), "positions[bosattningslagen].kind"),
        (lambda t: t.replace("- id: ebo", "- id: Ebo Lag", 1), "positions[Ebo Lag].id"),
        (lambda t: t.replace("source: http://www.mynewsdesk", "source: www.mynewsdesk", 1),
         "positions[bosattningslagen].source"),
    ],
)
def test_a_wrong_value_names_the_file_and_the_position(tmp_path, edit, key):
    text = (CONFIG / "positions.yaml").read_text(encoding="utf-8")
    (tmp_path / "positions.yaml").write_text(edit(text), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_positions(tmp_path).check_areas(load_focus_areas(CONFIG))
    assert caught.value.where == "positions.yaml"
    assert caught.value.key == key


def test_no_positions_file_means_no_flags(tmp_path):
    assert load_positions(tmp_path).positions == []


# -- matching real documents ----------------------------------------------------------------


@pytest.fixture(scope="module")
def matcher() -> PositionMatcher:
    return PositionMatcher(load_positions(CONFIG))


def touched(matcher: PositionMatcher, doc: dict) -> list[str]:
    found = matcher.match(doc["title"], "", doc["text"], doc["language"], set(doc["labels"]))
    return [m.position_id for m in found]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("doc_id", "expected"),
    [
        ("pg-c477a52c0e", ["ebo", "bosattningslagen"]),  # Asylsökande och nyanlända
        ("pg-171e544505", ["miljoprogram"]),  # Malmö stads miljöprogram (title)
        ("pg-0b405bb705", ["hoghastighetsbana"]),  # Överenskommelsen Skånebanan
        ("pg-75f082b7ce", ["oresundsmetro-utredning"]),  # Danish: Femern Bælt
        ("pg-95b5122902", ["bostadsforsorjning", "investeringsstod"]),  # English
        ("se-gov-72807d5b1f", []),  # Tandvårds- och läkemedelsförmånsverket: none
        ("eu-lsu-634cc18687", []),  # EU rules for the taxation of alcohol: none
    ],
)
def test_real_documents_touch_the_positions_they_concern(matcher, doc_id, expected):
    assert touched(matcher, dev_documents()[doc_id]) == expected


@pytest.mark.slow
def test_generic_terms_alone_do_not_make_a_match(matcher):
    # "Etableringsjobb …" names "etablering" and "statlig ersättning" (both generic) of the
    # reception-inquiry position: not enough; its labour-market terms are.
    assert touched(matcher, dev_documents()["se-gov-6275ef0ac1"]) == [
        "arbetsformedlingens-reformering"
    ]


@pytest.mark.slow
def test_the_digest_flags_a_touching_document_with_its_position(tmp_path):
    areas = load_focus_areas(CONFIG)
    doc = dev_documents()["pg-c477a52c0e"]
    store = Store.open(f"sqlite:///{tmp_path}/s.sqlite")
    add(store, "asyl", title=doc["title"], text=doc["text"], labels={"migration": 0.9})
    add(store, "tandvard", title="Nya uppdrag för TLV", labels={"migration": 0.6})

    digest = build_digest(store, WEEK, areas=areas, now=NOW,
                          positions=load_positions(CONFIG))

    (flagged,) = digest.touching
    assert flagged.title == "Asylsökande och nyanlända"
    assert [p.id for p in flagged.positions] == ["ebo", "bosattningslagen"]
    assert "eget boende" in flagged.positions[0].terms
    entries = digest.areas["migration"]
    assert [e.title for e in entries] == ["Asylsökande och nyanlända", "Nya uppdrag för TLV"]
    # score + report + national + novelty + position + local (the text names Malmö)
    assert entries[0].priority == pytest.approx(0.9 + 0.15 + 0.1 + 0.1 + 0.1 + 0.15)
    assert "rör 2 av Malmös positioner" in entries[0].why
    html, md = render_html(digest, areas), render_markdown(digest, areas)
    assert html.count("Rör Malmös position:") == 4  # in "Att agera på" and in the area
    assert "Malmö välkomnar att reglerna för eget boende (ebo)" in html
    assert "*Rör Malmös position:* Malmö välkomnar" in md


@pytest.mark.slow
def test_a_document_in_no_area_touches_a_position_with_three_terms(tmp_path):
    areas = load_focus_areas(CONFIG)
    store = Store.open(f"sqlite:///{tmp_path}/s.sqlite")
    add(store, "utjamning", title="En ändamålsenlig kommunalekonomisk utjämning, Dir. 2022:36",
        text="En särskild utredare ska se över utjämningssystemet. Inkomstutjämningen och "
             "kostnadsutjämningen ska ge kommunerna likvärdiga förutsättningar.",
        doc_type="directive")  # no accepted label

    digest = build_digest(store, WEEK, areas=areas, now=NOW, positions=load_positions(CONFIG))

    (flagged,) = digest.touching
    assert [p.id for p in flagged.positions] == ["utjamningssystemet"]
    assert flagged.areas == [] and flagged.score == 0.0
    assert all(entries == [] for entries in digest.areas.values())
