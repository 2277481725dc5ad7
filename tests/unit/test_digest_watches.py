"""Watches (bevakningar) in the weekly digest: real stored documents in a real SQLite
store, watches saved and applied by `omvarld.search.watches`, and the digest e-mailed to a real
SMTP server (aiosmtpd on localhost) and parsed back.

The configuration is test_digest_delivery's: one recipient follows everything, one
transport and environment, one transport only. Watch subscribers are added per test."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from factories import (
    DIGEST_YAML,
    EVERYTHING,
    NOW,
    TRANSPORT,
    TRANSPORT_AND_ENVIRONMENT,
    WEEK,
    add,
)
from omvarld.config.digest import load_digest_config
from omvarld.config.load import load_focus_areas
from omvarld.core.settings import Settings
from omvarld.digest.build import build_digest
from omvarld.digest.positions import Positions
from omvarld.digest.write import write_digest
from omvarld.search.query import SearchQuery
from omvarld.search.watches import create, subscribe
from omvarld.store import Store
from omvarld.store.tables import DigestSendRow

CONFIG = Path(__file__).resolve().parent.parent.parent / "config"
WATCHER = "bevakare@malmo.test"  # subscribes to watches only, in no digest.yaml group
HOSTILE = "<script>alert(1)</script>"


@pytest.fixture()
def config_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "config"
    folder.mkdir()
    for name in ("focus_areas.yaml", "lemmas.yaml"):
        (folder / name).write_bytes((CONFIG / name).read_bytes())
    (folder / "digest.yaml").write_text(DIGEST_YAML, encoding="utf-8")
    return folder  # no positions.yaml: no position flags


@pytest.fixture()
def store(tmp_path: Path):
    st = Store.open(f"sqlite:///{tmp_path}/t.sqlite")
    add(st, "rail", labels={"transport": 0.9}, title="Ny järnväg Malmö–Lund",
        doc_type="proposition", text="Regeringen föreslår en ny järnväg mellan Malmö och Lund.")
    # In the week but in no focus area: only a watch brings it to anyone.
    add(st, "cph", labels={}, title="Järnväg till Köpenhamn", doc_type="press_release",
        published=date(2026, 11, 18), text="Dansk järnväg till Köpenhamn byggs ut.")
    add(st, "jobs", labels={"arbetsmarknad": 0.7}, title="Fler jobb för nyanlända")
    add(st, "remiss", labels={"transport": 0.6}, title="Remiss om hamnar", doc_type="remiss",
        deadline=date(2026, 12, 10))
    # First seen in the week, but published long before it: backlog, left out everywhere.
    add(st, "old", labels={}, title="Gammal järnvägsutredning", published=date(2019, 3, 1),
        text="En gammal järnväg utreddes.")
    # A week earlier: not this week's news.
    add(st, "before", seen=datetime(2026, 11, 10, 9, 0), labels={}, title="Järnväg förra veckan",
        text="Järnväg förra veckan.")
    yield st
    st.close()


def send(store, config_dir, port, tmp_path, **kwargs):
    from omvarld.digest.deliver import send_digest

    settings = Settings(smtp_host="127.0.0.1", smtp_port=port, smtp_sender="omvarld@malmo.test")
    return send_digest(store, WEEK, config_dir=config_dir, out_dir=tmp_path / "digests",
                       settings=settings, now=NOW, **kwargs)


def html(message) -> str:
    return message.get_body(("html",)).get_content()


def text(message) -> str:
    return message.get_body(("plain",)).get_content()


def watch_part(page: str) -> str:
    """The "Bevakningar" section of an HTML digest (to the next h2)."""
    start = page.index('<h2 id="bevakningar"')
    return page[start : page.index("<h2", start + 1)]


def build(store, config_dir, **kwargs):
    areas = load_focus_areas(config_dir)
    return build_digest(store, WEEK, areas=areas, now=NOW, config=load_digest_config(config_dir),
                        positions=Positions(), **kwargs)


# -- building -------------------------------------------------------------------------------


def test_the_digest_lists_every_watch_with_new_matches_of_the_week(store, config_dir):
    create(store, "Järnväg", SearchQuery(text="järnväg"), description="Spår i Skåne")
    create(store, "Spårvagn", SearchQuery(text="spårvagn"))  # matches nothing this week
    subscribe(store, "Järnväg", "anna@malmo.test", "email")  # no digest subscriber

    digest = build(store, config_dir)

    (watch,) = digest.watches  # a watch without new matches has no section
    assert (watch.name, watch.description, watch.more) == ("Järnväg", "Spår i Skåne", 0)
    # Newest published first; the backlog and last week's document are not this week's.
    assert [(e.title, e.publisher, e.level, e.doc_type, e.published) for e in watch.entries] \
        == [("Järnväg till Köpenhamn", "Regeringskansliet", "national", "press_release",
             date(2026, 11, 18)),
            ("Ny järnväg Malmö–Lund", "Regeringskansliet", "national", "proposition",
             date(2026, 11, 17))]
    assert watch.entries[0].url == "https://example.se/cph"
    assert build(store, config_dir, with_watches=False).watches == []


def test_a_watch_lists_at_most_per_watch_matches_and_counts_the_rest(store, config_dir):
    (config_dir / "digest.yaml").write_text(DIGEST_YAML + "per_watch: 1\n", encoding="utf-8")
    create(store, "Järnväg", SearchQuery(text="järnväg"))
    (watch,) = build(store, config_dir).watches
    assert [e.title for e in watch.entries] == ["Järnväg till Köpenhamn"] and watch.more == 1


def test_the_archived_digest_has_the_section_after_the_areas_in_every_format(
        store, config_dir, tmp_path):
    create(store, "Järnväg", SearchQuery(text="järnväg"), description="Spår i Skåne")
    areas = load_focus_areas(config_dir)
    paths = write_digest(store, WEEK, tmp_path / "out", areas=areas, now=NOW,
                         config=load_digest_config(config_dir), positions=Positions(), pdf=False)

    page = paths["html"].read_text(encoding="utf-8")
    last_area = page.rindex('<h2 id="area-')
    assert last_area < page.index('<h2 id="bevakningar"') < page.index('<h2 id="aktorer"')
    part = watch_part(page)
    assert ">Järnväg</h3>" in part and "Spår i Skåne" in part
    assert '<a href="https://example.se/cph" style="color:#0b3d91;">Järnväg till Köpenhamn</a>' \
        in part
    assert "Regeringskansliet · Nationell · Pressmeddelande · 2026-11-18</span>" in part
    assert "Gammal järnvägsutredning" not in page and "Järnväg förra veckan" not in page
    assert 'href="#bevakning-1"' in page  # listed in the header too
    assert "Bevakningarna är sparade sökningar" in page

    markdown = paths["markdown"].read_text(encoding="utf-8")
    assert markdown.index("## Förbättrad transportinfrastruktur") < markdown.index(
        "## Bevakningar") < markdown.index("## Aktörer denna vecka")
    assert "### Järnväg\n\nSpår i Skåne\n\n- [Järnväg till Köpenhamn](https://example.se/cph)" \
        in markdown
    eml = paths["eml"].read_text(encoding="utf-8")
    assert "Bevakningar" in eml


def test_regenerating_a_week_gives_the_same_files(store, config_dir, tmp_path):
    create(store, "Järnväg", SearchQuery(text="järnväg"))
    areas = load_focus_areas(config_dir)

    def write(out):
        return write_digest(store, WEEK, tmp_path / out, areas=areas, now=NOW,
                            config=load_digest_config(config_dir), positions=Positions(),
                            pdf=False)

    first, second = write("a"), write("b")
    for kind in ("html", "markdown", "json", "eml", "ics"):
        assert first[kind].read_bytes() == second[kind].read_bytes(), kind
    assert "Järnväg till Köpenhamn" in first["json"].read_text(encoding="utf-8")


def test_no_matches_no_section_and_an_empty_week_still_says_so(config_dir, tmp_path):
    st = Store.open(f"sqlite:///{tmp_path}/empty.sqlite")
    add(st, "earlier", seen=datetime(2026, 10, 1), labels={"transport": 0.9},
        title="Järnväg i oktober")
    create(st, "Järnväg", SearchQuery(text="järnväg"))
    subscribe(st, "Järnväg", "anna@malmo.test")
    areas = load_focus_areas(config_dir)
    paths = write_digest(st, WEEK, tmp_path / "out", areas=areas, now=NOW,
                         config=load_digest_config(config_dir), positions=Positions(), pdf=False)
    page = paths["html"].read_text(encoding="utf-8")
    assert "Inga nya dokument denna vecka." in page
    assert "Bevakningar" not in page and "Järnväg i oktober" not in page
    assert "Bevakningarna är sparade sökningar" not in page
    assert "Bevakningar" not in paths["markdown"].read_text(encoding="utf-8")
    st.close()


def test_a_hostile_watch_name_and_description_are_escaped(store, config_dir, tmp_path):
    create(store, HOSTILE, SearchQuery(text="järnväg"), description='<img src=x onerror="x()">')
    areas = load_focus_areas(config_dir)
    paths = write_digest(store, WEEK, tmp_path / "out", areas=areas, now=NOW,
                         config=load_digest_config(config_dir), positions=Positions(), pdf=False)
    page = paths["html"].read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;</h3>" in watch_part(page)
    assert "&lt;img src=x onerror=&#34;x()&#34;&gt;" in watch_part(page)
    assert "<script" not in page.lower() and "<img src=x" not in page
    markdown = paths["markdown"].read_text(encoding="utf-8")
    assert "### \\<script\\>alert(1)\\</script\\>" in markdown
    assert "<script>" not in markdown


# -- delivery -------------------------------------------------------------------------------


def test_a_subscriber_gets_their_watch_and_a_non_subscriber_does_not(
        store, config_dir, smtp, tmp_path):
    inbox, port = smtp
    create(store, "Järnväg", SearchQuery(text="järnväg"), description="Spår i Skåne")
    create(store, "Spårvagn", SearchQuery(text="spårvagn"))  # no new matches this week
    subscribe(store, "Järnväg", TRANSPORT)  # in a digest.yaml group
    subscribe(store, "Järnväg", WATCHER)  # in none
    subscribe(store, "Spårvagn", WATCHER)
    subscribe(store, "Järnväg", "direkt@malmo.test", "email")  # e-mail delivery: no digest

    result = send(store, config_dir, port, tmp_path)

    assert sorted(result.recipients) == sorted(
        [EVERYTHING, TRANSPORT_AND_ENVIRONMENT, TRANSPORT, WATCHER])
    assert inbox.for_recipient("direkt@malmo.test") == []
    (full,) = inbox.for_recipient(EVERYTHING)
    (both,) = inbox.for_recipient(TRANSPORT_AND_ENVIRONMENT)
    (rail,) = inbox.for_recipient(TRANSPORT)
    (watcher,) = inbox.for_recipient(WATCHER)
    assert len(inbox.envelopes) == 4

    for message in (full, both):  # not subscribed: no section, not the unlabelled match
        assert "Bevakningar" not in html(message) and "Bevakningar" not in text(message)
        assert "Järnväg till Köpenhamn" not in html(message)
    assert "Fler jobb för nyanlända" in html(full)  # their areas are unchanged

    part = watch_part(html(rail))
    assert ">Järnväg</h3>" in part and "Spår i Skåne" in part
    assert "Järnväg till Köpenhamn" in part and "Ny järnväg Malmö–Lund" in part
    assert "Spårvagn" not in html(rail)  # not theirs
    assert "Järnväg till Köpenhamn" in text(rail) and "## Bevakningar" in text(rail)
    assert rail["Subject"] == "Omvärld v47 – Förbättrad transportinfrastruktur"

    # In no group: what to act on and their watches, no focus area.
    page = html(watcher)
    assert watcher["Subject"] == "Omvärld v47 – bevakningar" and watcher["To"] == WATCHER
    assert "Att agera på" in page and "Remiss om hamnar" in page
    assert "du följer inget av fokusområdena" in page
    assert '<h2 id="area-' not in page and "Fler jobb för nyanlända" not in page
    assert "Trender" not in page
    part = watch_part(page)
    assert "Järnväg till Köpenhamn" in part
    spårvagn = part[part.index(">Spårvagn</h3>"):]
    assert "Inget nytt denna vecka." in spårvagn
    assert "## Bevakningar" in text(watcher) and "## Att agera på" in text(watcher)

    # The archive lists the watch for everyone who reads it, with no subscriber's address.
    archive = (tmp_path / "digests" / "2026-W47.json").read_text(encoding="utf-8")
    assert "Järnväg till Köpenhamn" in archive and WATCHER not in archive


def test_a_second_send_sends_no_one_anything_again(store, config_dir, smtp, tmp_path):
    inbox, port = smtp
    create(store, "Järnväg", SearchQuery(text="järnväg"))
    subscribe(store, "Järnväg", TRANSPORT)
    subscribe(store, "Järnväg", WATCHER)

    first = send(store, config_dir, port, tmp_path)
    second = send(store, config_dir, port, tmp_path)

    assert first.sent and len(inbox.envelopes) == 4
    assert not second.sent and "already sent to all 4 recipients" in second.skipped_reason
    assert len(inbox.envelopes) == 4
    with store.session() as s:
        assert sorted(s.scalars(select(DigestSendRow.recipient))) == sorted(
            [EVERYTHING, TRANSPORT_AND_ENVIRONMENT, TRANSPORT, WATCHER])

    # Someone who subscribes later in the week gets the week once, the others nothing.
    subscribe(store, "Järnväg", "sen@malmo.test")
    third = send(store, config_dir, port, tmp_path)
    assert third.recipients == ["sen@malmo.test"] and len(inbox.envelopes) == 5
    (late,) = inbox.for_recipient("sen@malmo.test")
    assert "Järnväg till Köpenhamn" in watch_part(html(late))


def test_a_watch_subscriber_alone_is_enough_to_send(store, config_dir, smtp, tmp_path):
    inbox, port = smtp
    (config_dir / "digest.yaml").write_text("pdf: false\n", encoding="utf-8")
    assert "no recipients configured" in send(store, config_dir, port, tmp_path).skipped_reason
    create(store, "Järnväg", SearchQuery(text="järnväg"))
    subscribe(store, "Järnväg", WATCHER)
    result = send(store, config_dir, port, tmp_path)
    assert result.recipients == [WATCHER]
    (message,) = inbox.for_recipient(WATCHER)
    assert "Ny järnväg Malmö–Lund" in watch_part(html(message))


def test_the_hostile_watch_name_is_escaped_in_the_mail(store, config_dir, smtp, tmp_path):
    inbox, port = smtp
    create(store, HOSTILE, SearchQuery(text="järnväg"))
    subscribe(store, HOSTILE, WATCHER)
    send(store, config_dir, port, tmp_path)
    (message,) = inbox.for_recipient(WATCHER)
    page = html(message)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in watch_part(page)
    assert "<script" not in page.lower()
