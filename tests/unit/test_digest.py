"""The weekly digest, built from a real SQLite store the way the weekly flow builds it.

Week 2026-W47 is Monday 16 to Sunday 22 November 2026; Malmö is on UTC+1 then, so the
week runs from 2026-11-15 23:00 to 2026-11-22 23:00 in the store's naive UTC."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from factories import NOW, SCRIPT_TITLE, WEEK, add
from omvarld.config.load import load_focus_areas
from omvarld.core.areas import FocusAreas
from omvarld.core.errors import OmvarldError
from omvarld.digest.build import build_digest, current_week, parse_week
from omvarld.digest.positions import Positions
from omvarld.digest.render import render_html, render_markdown
from omvarld.digest.write import write_digest
from omvarld.store import Store
from omvarld.store.tables import DigestRow

CONFIG = Path(__file__).resolve().parent.parent.parent / "config"


# -- helpers ----------------------------------------------------------------------------------


@pytest.fixture()
def areas() -> FocusAreas:
    return load_focus_areas(CONFIG)


@pytest.fixture(autouse=True)
def no_positions(monkeypatch):
    """Positions are tested in test_digest_positions.py; here they would only cost the
    matcher's start-up."""
    monkeypatch.setattr("omvarld.digest.build.load_positions", lambda: Positions())


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    st = Store.open(f"sqlite:///{tmp_path}/t.sqlite")
    yield st
    st.close()




def titles(entries) -> list[str]:
    return [e.title for e in entries]


# -- weeks ------------------------------------------------------------------------------------


def test_parse_week_gives_monday_to_sunday():
    assert parse_week("2026-W47") == (date(2026, 11, 16), date(2026, 11, 22))
    assert parse_week("2026-W01") == (date(2025, 12, 29), date(2026, 1, 4))
    assert parse_week("2026-W53") == (date(2026, 12, 28), date(2027, 1, 3))


@pytest.mark.parametrize("bad", ["2026-47", "2026W47", "W47", "2026-W7", "", "2026-w47x"])
def test_parse_week_rejects_a_wrong_form_and_shows_the_right_one(bad):
    with pytest.raises(OmvarldError, match="week must look like 2026-W47"):
        parse_week(bad)


@pytest.mark.parametrize("bad", ["2025-W53", "2026-W00", "2026-W54"])
def test_parse_week_rejects_a_week_the_year_does_not_have(bad):
    with pytest.raises(OmvarldError, match="does not exist"):
        parse_week(bad)


def test_current_week_is_malmo_time():
    # Sunday 23:30 UTC is already Monday in Malmö: the next week.
    assert current_week(datetime(2026, 11, 22, 23, 30)) == "2026-W48"
    assert current_week(datetime(2026, 11, 22, 22, 30)) == "2026-W47"


# -- selection --------------------------------------------------------------------------------


def test_selects_documents_first_seen_in_the_malmo_week(store, areas):
    add(store, "monday-early", seen=datetime(2026, 11, 15, 23, 30), labels={"miljo": 0.9})
    add(store, "sunday-late", seen=datetime(2026, 11, 22, 22, 30), labels={"miljo": 0.8})
    add(store, "week-before", seen=datetime(2026, 11, 15, 22, 30), labels={"miljo": 0.9})
    add(store, "week-after", seen=datetime(2026, 11, 22, 23, 30), labels={"miljo": 0.9})

    digest = build_digest(store, WEEK, areas=areas, now=NOW)

    assert titles(digest.areas["miljo"]) == ["Dokument monday-early", "Dokument sunday-late"]
    assert digest.documents_in_week == 2
    assert (digest.week, digest.start, digest.end) == (WEEK, date(2026, 11, 16), date(2026, 11, 22))


def test_only_accepted_labels_place_a_document_in_an_area(store, areas):
    add(store, "accepted", labels={"transport": 0.8})
    add(store, "rejected", labels={"transport": 0.4})  # below threshold 0.5
    add(store, "unlabelled")

    digest = build_digest(store, WEEK, areas=areas, now=NOW)

    assert titles(digest.areas["transport"]) == ["Dokument accepted"]
    assert digest.documents_in_week == 3


def test_backlog_older_than_max_age_is_left_out(store, areas):
    add(store, "fresh", labels={"bostader": 0.9}, published=date(2026, 10, 1))
    add(store, "old", labels={"bostader": 0.9}, published=date(2026, 1, 10))
    add(store, "undated", labels={"bostader": 0.9}, published=None)

    digest = build_digest(store, WEEK, areas=areas, now=NOW)

    assert sorted(titles(digest.areas["bostader"])) == ["Dokument fresh", "Dokument undated"]
    assert digest.documents_in_week == 2


def test_no_age_limit_keeps_the_backlog(store, areas):
    add(store, "old", labels={"bostader": 0.9}, published=date(2019, 1, 10))

    digest = build_digest(store, WEEK, areas=areas, max_age_days=None, now=NOW)

    assert titles(digest.areas["bostader"]) == ["Dokument old"]


# -- ranking ----------------------------------------------------------------------------------


def test_ranked_by_priority_type_outweighs_a_higher_score_then_level_then_date(store, areas):
    add(store, "news-high", labels={"arbetsmarknad": 0.95}, doc_type="news")
    add(store, "report", labels={"arbetsmarknad": 0.7}, doc_type="report")
    add(store, "press", labels={"arbetsmarknad": 0.7}, doc_type="press_release")
    add(store, "proposition", labels={"arbetsmarknad": 0.7}, doc_type="proposition")
    add(store, "law", labels={"arbetsmarknad": 0.7}, doc_type="law")
    add(store, "sou-local", labels={"arbetsmarknad": 0.6}, doc_type="sou", level="local")
    add(store, "sou-eu", labels={"arbetsmarknad": 0.6}, doc_type="sou", level="eu")
    add(
        store,
        "sou-eu-newer",
        labels={"arbetsmarknad": 0.6},
        doc_type="sou",
        level="eu",
        published=date(2026, 11, 20),
    )

    digest = build_digest(store, WEEK, areas=areas, per_area=10, now=NOW)

    # priority = score + type (proposition .45, sou .4, law .3, report .15, press .05,
    # news 0) + level (eu/national .1, local 0) + novelty .1; ties by score, then date.
    assert titles(digest.areas["arbetsmarknad"]) == [
        "Dokument proposition",  # 1.35
        "Dokument law",  # 1.2, score 0.7
        "Dokument sou-eu-newer",  # 1.2, score 0.6, newer
        "Dokument sou-eu",  # 1.2
        "Dokument news-high",  # 1.15: a news item below a proposition despite its score
        "Dokument sou-local",  # 1.1
        "Dokument report",  # 1.05
        "Dokument press",  # 0.95
    ]
    assert digest.areas["arbetsmarknad"][0].priority == 1.35


def test_per_area_keeps_the_best_and_counts_the_rest(store, areas):
    for i in range(5):
        add(store, f"doc{i}", labels={"utbildning": 0.9 - i / 100})

    digest = build_digest(store, WEEK, areas=areas, per_area=3, now=NOW)

    assert titles(digest.areas["utbildning"]) == ["Dokument doc0", "Dokument doc1", "Dokument doc2"]
    assert digest.more["utbildning"] == 2
    assert digest.more["miljo"] == 0


def test_entry_carries_summary_and_evidence(store, areas):
    terms = ["a", "b", "c", "d", "e", "f", "g", "h"]
    add(store, "x", labels={"migration": 0.8}, terms=terms, deadline=date(2026, 12, 1))

    (entry,) = build_digest(store, WEEK, areas=areas, now=NOW).areas["migration"]

    assert entry.summary == "Regeringen föreslår en ny lag. Den gäller från 2027."
    assert entry.terms == terms[:6]
    assert entry.sentence == "Arbetsmarknaden behöver fler insatser."
    assert (entry.score, entry.deadline, entry.publisher) == (
        0.8,
        date(2026, 12, 1),
        "Regeringskansliet",
    )


# -- consultations ----------------------------------------------------------------------------


def test_open_consultations_within_eight_weeks_soonest_first(store, areas):
    seen = datetime(2026, 9, 1)  # consultations are listed whenever they were first seen
    add(store, "past", seen=seen, doc_type="remiss", deadline=date(2026, 11, 20))
    add(store, "later", seen=seen, doc_type="remiss", deadline=date(2026, 12, 14))
    add(
        store,
        "soon",
        seen=seen,
        doc_type="consultation",
        deadline=date(2026, 11, 25),
        labels={"miljo": 0.7},
    )
    add(store, "last-day", seen=seen, doc_type="remiss", deadline=date(2027, 1, 18))
    add(store, "too-far", seen=seen, doc_type="remiss", deadline=date(2027, 1, 19))

    digest = build_digest(store, WEEK, areas=areas, now=NOW)

    assert titles(digest.consultations) == ["Dokument soon", "Dokument later", "Dokument last-day"]
    assert digest.consultations[0].score == 0.7
    html = render_html(digest, areas)
    remisser = html.split("Öppna remisser")[1]
    assert remisser.index("2026-11-25") < remisser.index("2026-12-14")
    assert "Dokument past" not in html


def test_no_open_consultations_is_said(store, areas):
    digest = build_digest(store, WEEK, areas=areas, now=NOW)
    assert "Inga öppna remisser" in render_html(digest, areas)
    assert "Inga öppna remisser" in render_markdown(digest, areas)


# -- rendering --------------------------------------------------------------------------------


def test_html_escapes_scraped_text_and_has_no_script(store, areas):
    add(
        store,
        "xss",
        title=SCRIPT_TITLE,
        labels={"miljo": 0.9},
        text="<img src=x onerror=alert(1)> Text. Mer.",
    )

    html = render_html(build_digest(store, WEEK, areas=areas, now=NOW), areas)

    assert SCRIPT_TITLE not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()


def test_markdown_escapes_a_title_that_would_break_the_link(store, areas):
    add(store, "brackets", title="Rapport [utkast] om *klimat*", labels={"miljo": 0.9})
    add(store, "xss", title=SCRIPT_TITLE, labels={"miljo": 0.8})

    md = render_markdown(build_digest(store, WEEK, areas=areas, now=NOW), areas)

    assert r"[Rapport \[utkast\] om \*klimat\*](https://example.se/brackets)" in md
    assert SCRIPT_TITLE not in md
    markdown_it = pytest.importorskip("markdown_it")
    rendered = markdown_it.MarkdownIt().render(md)
    assert "<script" not in rendered
    assert 'href="https://example.se/brackets"' in rendered


def test_every_area_has_its_section_in_swedish(store, areas):
    add(store, "one", labels={"transport": 0.9})
    digest = build_digest(store, WEEK, areas=areas, now=NOW)
    html, md = render_html(digest, areas), render_markdown(digest, areas)

    for area in areas.areas:
        assert area.name("sv") in html
        assert f"## {area.name('sv')}" in md
    # Five areas have nothing this week and say so, in both formats.
    assert html.count("Inget nytt denna vecka.") == 5
    assert md.count("Inget nytt denna vecka.") == 5


def test_entry_shows_metadata_in_swedish_and_why(store, areas):
    add(
        store,
        "prop",
        doc_type="proposition",
        level="eu",
        labels={"transport": 0.9},
        terms=["järnväg"],
    )
    html = render_html(build_digest(store, WEEK, areas=areas, now=NOW), areas)

    assert "Regeringskansliet · EU · Proposition · 2026-11-17" in html
    assert "Varför:" in html
    assert "järnväg" in html
    assert 'href="https://example.se/prop"' in html


def test_more_is_shown_as_och_n_till(store, areas):
    for i in range(4):
        add(store, f"doc{i}", labels={"miljo": 0.9})
    digest = build_digest(store, WEEK, areas=areas, per_area=1, now=NOW)

    assert "… och 3 till" in render_html(digest, areas)
    assert "… och 3 till" in render_markdown(digest, areas)


def test_empty_week_says_so_at_the_top(store, areas):
    add(store, "other-week", seen=datetime(2026, 10, 1), labels={"miljo": 0.9})
    digest = build_digest(store, WEEK, areas=areas, now=NOW)
    html, md = render_html(digest, areas), render_markdown(digest, areas)

    assert digest.documents_in_week == 0
    assert all(entries == [] for entries in digest.areas.values())
    assert html.index("Inga nya dokument denna vecka.") < html.index("<h2")
    assert md.index("Inga nya dokument denna vecka.") < md.index("\n## ")
    assert "16–22 november 2026" in html


def test_markdown_lists_the_same_titles_as_html(store, areas):
    add(store, "a", labels={"miljo": 0.9, "transport": 0.6})
    add(store, "b", labels={"utbildning": 0.7}, doc_type="sou")
    add(store, "c", labels={"arbetsmarknad": 0.8}, deadline=date(2026, 12, 1))
    digest = build_digest(store, WEEK, areas=areas, now=NOW)
    html, md = render_html(digest, areas), render_markdown(digest, areas)

    html_titles = re.findall(r'<a href="https://example\.se/[^"]+"[^>]*>([^<]+)</a>', html)
    md_titles = re.findall(r"\[([^\]]+)\]\(https://example\.se/", md)
    assert html_titles == md_titles
    # "Att agera på" (the open remiss) comes first, then the areas in configured order.
    assert md_titles == ["Dokument c", "Dokument c", "Dokument b", "Dokument a", "Dokument a"]


# -- writing ----------------------------------------------------------------------------------


def digest_records(store: Store) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count(DigestRow.id))))


def test_write_digest_writes_both_files_and_records_them(store, areas, tmp_path):
    add(store, "a", labels={"miljo": 0.9})
    paths = write_digest(store, WEEK, tmp_path / "out", areas=areas, now=NOW)

    out = tmp_path / "out"
    assert paths == {
        kind: out / f"2026-W47.{suffix}"
        for kind, suffix in (("html", "html"), ("markdown", "md"), ("ics", "ics"),
                             ("pdf", "pdf"), ("eml", "eml"), ("json", "json"))
    }
    assert "Dokument a" in paths["html"].read_text(encoding="utf-8")
    assert "Dokument a" in paths["markdown"].read_text(encoding="utf-8")
    record = store.digest_record(WEEK)
    assert record is not None
    assert record.paths == {k: str(v) for k, v in paths.items()}
    assert record.entries == 1
    assert paths["pdf"].read_bytes().startswith(b"%PDF-")
    # Nothing else is left behind (no temp files from the atomic write).
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths.values())


def test_regenerating_a_week_gives_identical_files_and_one_record(store, areas, tmp_path):
    add(store, "a", labels={"miljo": 0.9})
    add(store, "b", labels={"transport": 0.7}, deadline=date(2026, 12, 1))

    first = write_digest(store, WEEK, tmp_path, areas=areas, now=NOW)
    before = {kind: path.read_bytes() for kind, path in first.items()}
    hash_before = store.digest_record(WEEK).content_hash
    second = write_digest(store, WEEK, tmp_path, areas=areas, now=NOW)

    assert second == first
    # Every format, the PDF and the e-mail included, is byte for byte the same.
    assert {kind: path.read_bytes() for kind, path in second.items()} == before
    assert digest_records(store) == 1
    assert len([p for p in tmp_path.iterdir() if p.name.startswith("2026")]) == 6
    # A later run the same day stamps a new time but has the same content.
    write_digest(store, WEEK, tmp_path, areas=areas, now=NOW.replace(hour=9))
    assert store.digest_record(WEEK).content_hash == hash_before
    assert digest_records(store) == 1


# -- stories, novelty, stakeholders, trends, calendar -----------------------------------------


def test_near_duplicates_are_one_entry_listing_every_publisher(store, areas):
    first = add(store, "press", labels={"transport": 0.7}, doc_type="press_release")
    second = add(store, "prop", labels={"transport": 0.8}, doc_type="proposition")
    other = add(store, "other", labels={"transport": 0.6})
    store.set_story([first, second], first)
    with store.session() as s:  # the proposition comes from another publisher
        from omvarld.store.tables import DocumentRow

        s.get(DocumentRow, second).publisher = "Riksdagen"

    digest = build_digest(store, WEEK, areas=areas, now=NOW)

    entries = digest.areas["transport"]
    assert titles(entries) == ["Dokument prop", "Dokument other"]
    assert entries[0].publishers == ["Riksdagen", "Regeringskansliet"]
    assert entries[0].story_size == 2
    assert digest.more["transport"] == 0
    html = render_html(digest, areas)
    assert "Riksdagen, Regeringskansliet · Nationell · Proposition" in html
    assert "samma nyhet från 2 dokument" in html
    assert other  # a story of its own stays a single entry


def test_a_story_begun_before_the_week_is_a_follow_up_and_ranks_lower(store, areas):
    earlier = add(store, "earlier", seen=datetime(2026, 11, 2), labels={"miljo": 0.9})
    follow = add(store, "follow-up", labels={"miljo": 0.8})
    add(store, "fresh", labels={"miljo": 0.75})
    store.set_story([earlier, follow], earlier)

    entries = build_digest(store, WEEK, areas=areas, now=NOW).areas["miljo"]

    # 0.8 + report .15 + national .1 (no novelty) < 0.75 + .15 + .1 + novelty .1
    assert titles(entries) == ["Dokument fresh", "Dokument follow-up"]
    assert [e.novel for e in entries] == [True, False]
    assert "uppföljning" in render_markdown(
        build_digest(store, WEEK, areas=areas, now=NOW), areas)


def test_stakeholders_most_named_this_week_first(store, areas):
    a = add(store, "a", labels={"miljo": 0.9})
    b = add(store, "b", labels={"transport": 0.9})
    old = add(store, "old", seen=datetime(2026, 10, 1))
    store.save_annotations(a, [("Trafikverket", "authority", 3), ("Region Skåne", "region", 1)],
                           [])
    store.save_annotations(b, [("Trafikverket", "authority", 1)], [])
    store.save_annotations(old, [("Boverket", "authority", 9)], [])

    digest = build_digest(store, WEEK, areas=areas, now=NOW)

    assert [(s.name, s.kind, s.documents) for s in digest.stakeholders] == [
        ("Trafikverket", "authority", 2),
        ("Region Skåne", "region", 1),
    ]
    html = render_html(digest, areas)
    section = html.split('id="aktorer"')[1].split('id="trender"')[0]
    assert "Trafikverket</td><td" in section and "myndighet" in section
    assert "Boverket" not in section


def test_trends_count_twelve_weeks_and_compare_with_the_previous(store, areas):
    add(store, "this-1", labels={"miljo": 0.9})
    add(store, "this-2", labels={"miljo": 0.8})
    add(store, "last-week", seen=datetime(2026, 11, 10), labels={"miljo": 0.9})
    add(store, "w36", seen=datetime(2026, 9, 1), labels={"miljo": 0.9},
        published=date(2026, 8, 30))
    add(store, "w35", seen=datetime(2026, 8, 25), labels={"miljo": 0.9})  # 13 weeks back
    add(store, "rejected", labels={"miljo": 0.3})

    digest = build_digest(store, WEEK, areas=areas, now=NOW)

    assert digest.trend_weeks[0] == "2026-W36" and digest.trend_weeks[-1] == "2026-W47"
    assert digest.trends["miljo"] == [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2]
    assert digest.trends["transport"] == [0] * 12
    from omvarld.digest.render import trend_line

    assert trend_line(digest.trends["miljo"]) == (
        "2 denna vecka, 1 förra veckan (+1); i snitt 0,2 per vecka de 11 veckorna före"
    )
    assert trend_line([3, 1]) == "1 denna vecka, 3 förra veckan (−2); i snitt 3 per vecka de 1 " \
        "veckorna före"


def test_the_calendar_has_one_event_per_open_consultation(store, areas, tmp_path):
    from icalendar import Calendar

    add(store, "soon", doc_type="remiss", deadline=date(2026, 11, 30), title="Remiss A")
    add(store, "later", doc_type="remiss", deadline=date(2026, 12, 21), title="Remiss B")
    paths = write_digest(store, WEEK, tmp_path, areas=areas, now=NOW)

    calendar = Calendar.from_ical(paths["ics"].read_bytes())
    events = calendar.walk("VEVENT")
    assert [str(e["SUMMARY"]) for e in events] == ["Sista svarsdag: Remiss A",
                                                   "Sista svarsdag: Remiss B"]
    assert [e.decoded("DTSTART") for e in events] == [date(2026, 11, 30), date(2026, 12, 21)]
    assert str(events[0]["URL"]) == "https://example.se/soon"
    assert len({str(e["UID"]) for e in events}) == 2
    assert 'href="2026-W47.ics"' in paths["html"].read_text(encoding="utf-8")


def test_the_archive_reads_back_as_the_same_digest(store, areas, tmp_path):
    from omvarld.digest.build import digest_content_hash
    from omvarld.digest.write import load_archived_digest

    add(store, "a", labels={"miljo": 0.9})
    write_digest(store, WEEK, tmp_path, areas=areas, now=NOW)
    archived = load_archived_digest(tmp_path, WEEK)

    assert archived == build_digest(store, WEEK, areas=areas, now=NOW)
    assert digest_content_hash(archived) == store.digest_record(WEEK).content_hash
    assert load_archived_digest(tmp_path, "2026-W46") is None


def test_an_evidence_sentence_that_only_repeats_the_title_is_left_out(store, areas):
    doc_id = add(store, "t", labels={"miljo": 0.9}, title="Arbetsmarknaden behöver fler insatser")
    assert doc_id
    (entry,) = build_digest(store, WEEK, areas=areas, now=NOW).areas["miljo"]
    assert entry.sentence is None and entry.terms == ["arbetsmarknad", "sysselsättning"]


def test_the_positions_list_is_capped_and_says_so(store, areas):
    from omvarld.digest.build import PositionFlag

    add(store, "a", labels={"miljo": 0.9})
    digest = build_digest(store, WEEK, areas=areas, now=NOW)
    flag = PositionFlag(id="miljoprogram", area="miljo", statement="Malmös miljöprogram",
                        terms=["miljöprogram"])
    entry = digest.areas["miljo"][0].model_copy(update={"positions": [flag]})
    capped = digest.model_copy(update={"touching": [entry] * 5, "positions_listed": 3})

    html, md = render_html(capped, areas), render_markdown(capped, areas)
    line = "5 dokument rör Malmös uttalade positioner; de 3 viktigaste här"
    assert line in html and line in md
    section = html.split('id="positioner"')[1].split("<h2")[0]
    assert section.count("<li") == 3


# -- corrections, deadlines, levels, counts ----------------------------------------------------


def test_a_correction_shows_in_the_next_digest_and_survives_reclassification(store, areas):
    from omvarld.core.model import Evidence, Label

    doc_id = add(store, "a", labels={"miljo": 0.9, "transport": 0.2})
    store.add_feedback(doc_id, "transport", "add", "Anna Analytiker", "")
    store.add_feedback(doc_id, "miljo", "remove", "Anna Analytiker", "")
    digest = build_digest(store, WEEK, areas=areas, now=NOW)
    assert titles(digest.areas["transport"]) == ["Dokument a"] and digest.areas["miljo"] == []
    assert digest.areas["transport"][0].strength.startswith("lagt till av Anna Analytiker")
    # Classified again (say, a new model): the analyst's word still holds.
    row = store.document(doc_id)
    store.save_labels(doc_id, row.content_hash, [
        Label(area=a, score=s, threshold=0.5, evidence=Evidence(), model_version="v2")
        for a, s in (("miljo", 0.95), ("transport", 0.1))], summary="Sparad sammanfattning.")
    digest = build_digest(store, WEEK, areas=areas, now=NOW)
    assert titles(digest.areas["transport"]) == ["Dokument a"] and digest.areas["miljo"] == []
    assert digest.areas["transport"][0].summary == "Sparad sammanfattning."


def test_an_expired_consultation_is_marked_passed_ranked_down_and_not_to_act_on(store, areas):
    add(store, "expired", labels={"utbildning": 0.99}, doc_type="consultation",
        deadline=date(2026, 11, 20), title="Udkast til lovforslag sendt i høring")
    add(store, "open", labels={"utbildning": 0.9}, doc_type="remiss", deadline=date(2026, 12, 4))
    add(store, "news", labels={"utbildning": 0.95}, doc_type="news")

    digest = build_digest(store, WEEK, areas=areas, now=NOW)

    entries = digest.areas["utbildning"]
    # høring: 0.99 + consultation .4 + national .1 + novelty .1 − expired .4; the open
    # remiss keeps its .4 and comes first.
    assert titles(entries)[0] == "Dokument open"
    passed = next(e for e in entries if e.deadline_passed)
    assert passed.title == "Udkast til lovforslag sendt i høring" and passed.priority == 1.19
    assert titles(digest.consultations) == ["Dokument open"]
    md, html = render_markdown(digest, areas), render_html(digest, areas)
    assert "sista svarsdag var 2026-11-20 (passerad)" in md
    assert "**sista svarsdag 2026-11-20**" not in md
    assert "<strong>sista svarsdag 2026-11-20</strong>" not in html
    agera = html.split('id="agera"')[1].split('id="area-')[0]
    assert "høring" not in agera


def test_scores_read_as_levels_from_the_configuration(store, areas):
    add(store, "strong", labels={"miljo": 0.95})
    add(store, "clear", labels={"miljo": 0.75})
    add(store, "possible", labels={"miljo": 0.55})
    digest = build_digest(store, WEEK, areas=areas, now=NOW)
    assert {e.title: e.strength for e in digest.areas["miljo"]} == {
        "Dokument strong": "stark koppling", "Dokument clear": "tydlig koppling",
        "Dokument possible": "möjlig koppling"}
    md = render_markdown(digest, areas)
    assert "(stark koppling)" in md and "(poäng" not in md
    assert "stark koppling från 0,9, tydlig koppling från 0,7, annars möjlig koppling" in md


def test_a_swedish_local_item_outranks_a_danish_national_one_that_names_no_local_place(
        store, areas):
    danish = add(store, "dk", labels={"arbetsmarknad": 0.99}, doc_type="proposition",
                 title="Forslag til lov om en aktiv beskæftigelsesindsats",
                 text="Lovforslaget har til formål at få flere i beskæftigelse. Mere tekst.")
    oresund = add(store, "dk-oresund", labels={"arbetsmarknad": 0.9}, doc_type="proposition",
                  title="Forslag om grænsependling over Øresund",
                  text="Forslaget skal gøre det lettere at pendle. Mere tekst her.")
    with store.session() as s:
        from omvarld.store.tables import DocumentRow

        for doc_id in (danish, oresund):
            s.get(DocumentRow, doc_id).language = "da"
    add(store, "skane", labels={"arbetsmarknad": 0.9}, doc_type="report",
        title="Arbetslösheten i Skåne minskar", text="Arbetslösheten i Malmö sjönk i oktober. Mer.")

    entries = build_digest(store, WEEK, areas=areas, now=NOW).areas["arbetsmarknad"]

    # skåne: .9 + report .15 + national .1 + novelty .1 + local .15 = 1.4; the Danish bill
    # 0.99 + .45 + novelty .1 − foreign .3 = 1.24; the Øresund bill names a local place.
    assert titles(entries) == ["Forslag om grænsependling over Øresund",
                               "Arbetslösheten i Skåne minskar",
                               "Forslag til lov om en aktiv beskæftigelsesindsats"]
    assert entries[1].why == ["nämner Skåne och Malmö"]
    assert entries[0].why == ["nämner Øresund"]


def test_counts_agree_header_trend_and_rest(store, areas):
    first = add(store, "press", labels={"transport": 0.7}, doc_type="press_release")
    second = add(store, "prop", labels={"transport": 0.8}, doc_type="proposition")
    store.set_story([first, second], first)
    for i in range(4):
        add(store, f"doc{i}", labels={"transport": 0.9 - i / 100})
    digest = build_digest(store, WEEK, areas=areas, per_area=2, now=NOW)

    assert digest.area_documents["transport"] == 6 == digest.trends["transport"][-1]
    assert digest.more["transport"] == 3 and len(digest.rest["transport"]) == 3
    md, html = render_markdown(digest, areas), render_html(digest, areas)
    assert "Förbättrad transportinfrastruktur 6" in md
    assert "Förbättrad transportinfrastruktur</a>&nbsp;6" in html
    section = md.split("## Förbättrad transportinfrastruktur")[1].split("\n## ")[0]
    assert "… och 3 till:" in section
    assert all(f"[{e.title}]" in section for e in digest.rest["transport"])


def test_the_pdf_pages_are_white_without_the_mail_surround(store, areas, tmp_path):
    import io

    import pypdf
    from weasyprint import HTML

    from omvarld.digest.render import render_pdf

    add(store, "a", labels={"miljo": 0.9})
    html = render_html(build_digest(store, WEEK, areas=areas, now=NOW), areas)
    surround = b"0.952941 0.956863 0.964706"  # the page's #f3f4f6, as WeasyPrint paints it

    def painted(pdf: bytes) -> int:
        pages = pypdf.PdfReader(io.BytesIO(pdf)).pages
        return sum(page.get_contents().get_data().count(surround) for page in pages)

    assert painted(HTML(string=html).write_pdf()) > 0  # as a mail client shows the page
    assert painted(render_pdf(html)) == 0
