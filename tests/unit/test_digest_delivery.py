"""Sending the weekly digest to a real SMTP server (aiosmtpd on localhost).

The configuration is a copy of the project's with test recipients: one who follows
everything, one who follows transport and environment, one who follows transport only.
What the server receives is parsed back and checked: the MIME structure a mail client
needs (text and HTML alternatives, charts attached by Content-ID, the .ics), the areas
each recipient gets, and that a second send does nothing unless forced."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from factories import (
    DIGEST_YAML,
    EVERYTHING,
    NOW,
    SCRIPT_TITLE,
    TRANSPORT,
    TRANSPORT_AND_ENVIRONMENT,
    WEEK,
    _free_port,
    add,
)
from omvarld.config.digest import load_digest_config
from omvarld.core.errors import ConfigError
from omvarld.core.settings import Settings
from omvarld.digest.deliver import send_digest
from omvarld.ops.mail import MailError
from omvarld.store import Store
from omvarld.store.tables import DigestSendRow

CONFIG = Path(__file__).resolve().parent.parent.parent / "config"


@pytest.fixture()
def config_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "config"
    folder.mkdir()
    for name in ("focus_areas.yaml", "lemmas.yaml"):
        shutil.copy(CONFIG / name, folder / name)
    (folder / "digest.yaml").write_text(DIGEST_YAML, encoding="utf-8")
    return folder  # no positions.yaml: no position flags (tested on their own)


@pytest.fixture()
def store(tmp_path: Path):
    st = Store.open(f"sqlite:///{tmp_path}/t.sqlite")
    add(st, "rail", labels={"transport": 0.9}, title="Ny järnväg Malmö–Lund",
        doc_type="proposition")
    add(st, "climate", labels={"miljo": 0.8}, title=SCRIPT_TITLE)
    add(st, "jobs", labels={"arbetsmarknad": 0.7}, title="Fler jobb för nyanlända")
    add(st, "remiss", labels={"transport": 0.6}, title="Remiss om hamnar", doc_type="remiss",
        deadline=date(2026, 12, 10))
    yield st
    st.close()


def send(store, config_dir, port, tmp_path, **kwargs):
    settings = Settings(smtp_host="127.0.0.1", smtp_port=port, smtp_sender="omvarld@malmo.test")
    return send_digest(store, WEEK, config_dir=config_dir, out_dir=tmp_path / "digests",
                       settings=settings, now=NOW, **kwargs)


def test_each_recipient_gets_one_message_with_the_areas_they_follow(
        store, config_dir, smtp, tmp_path):
    inbox, port = smtp
    result = send(store, config_dir, port, tmp_path)

    assert result.sent is True and result.skipped_reason is None
    assert sorted(result.recipients) == sorted([EVERYTHING, TRANSPORT_AND_ENVIRONMENT, TRANSPORT])
    assert len(inbox.envelopes) == 3  # three groups: everything, transport+miljö, transport
    (full,) = inbox.for_recipient(EVERYTHING)
    (both,) = inbox.for_recipient(TRANSPORT_AND_ENVIRONMENT)
    (rail,) = inbox.for_recipient(TRANSPORT)

    def html(message):
        return message.get_body(("html",)).get_content()

    assert "Fler jobb för nyanlända" in html(full)
    assert "Fler jobb för nyanlända" not in html(both) and "Fler jobb" not in html(rail)
    assert "Ny järnväg Malmö–Lund" in html(rail) and "&lt;script&gt;" not in html(rail)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html(both)
    assert full["Subject"] == "Omvärld v47"
    assert rail["Subject"] == "Omvärld v47 – Förbättrad transportinfrastruktur"
    assert full["To"] == EVERYTHING and full["From"] == "omvarld@malmo.test"


def test_the_message_is_multipart_with_text_html_charts_and_calendar(
        store, config_dir, smtp, tmp_path):
    inbox, port = smtp
    send(store, config_dir, port, tmp_path)
    (message,) = inbox.for_recipient(EVERYTHING)

    assert message.get_content_type() == "multipart/mixed"
    alternative = message.get_payload()[0]
    assert alternative.get_content_type() == "multipart/alternative"
    text, related = alternative.get_payload()
    assert text.get_content_type() == "text/plain"
    assert "## Förbättrad transportinfrastruktur" in text.get_content()
    assert related.get_content_type() == "multipart/related"
    html_part, *images = related.get_payload()
    html = html_part.get_content()
    assert len(images) == 6  # one trend chart per focus area
    for image in images:
        assert image.get_content_type() == "image/png"
        assert image.get_content().startswith(b"\x89PNG")
        cid = image["Content-ID"].strip("<>")
        assert f'src="cid:{cid}"' in html
    assert "<script" not in html.lower() and "<style" not in html.lower()
    (calendar,) = [p for p in message.iter_attachments() if p.get_content_type() ==
                   "text/calendar"]
    ics = calendar.get_content()
    assert "SUMMARY:Sista svarsdag: Remiss om hamnar" in ics
    assert "DTSTART;VALUE=DATE:20261210" in ics


def test_a_second_send_is_skipped_and_force_sends_again(store, config_dir, smtp, tmp_path):
    inbox, port = smtp
    first = send(store, config_dir, port, tmp_path)
    second = send(store, config_dir, port, tmp_path)

    assert first.sent and not second.sent
    assert "already sent to all 3 recipients" in second.skipped_reason
    assert second.recipients == [] and len(inbox.envelopes) == 3

    forced = send(store, config_dir, port, tmp_path, force=True)
    assert forced.sent and len(forced.recipients) == 3 and len(inbox.envelopes) == 6
    with store.session() as s:
        assert s.scalar(select(func.count(DigestSendRow.id))) == 3  # one row per recipient
    assert store.digest_record(WEEK).sent_at is not None


def test_a_recipient_added_later_gets_only_their_copy(store, config_dir, smtp, tmp_path):
    inbox, port = smtp
    send(store, config_dir, port, tmp_path)
    text = (config_dir / "digest.yaml").read_text(encoding="utf-8")
    (config_dir / "digest.yaml").write_text(
        text.replace("    miljo: [", "    bostader: [bo@malmo.test]\n    miljo: ["),
        encoding="utf-8")

    result = send(store, config_dir, port, tmp_path)

    assert result.sent and result.recipients == ["bo@malmo.test"]
    assert result.already == [EVERYTHING, TRANSPORT_AND_ENVIRONMENT, TRANSPORT]
    assert len(inbox.envelopes) == 4


def test_dry_run_builds_everything_and_sends_nothing(store, config_dir, smtp, tmp_path):
    inbox, port = smtp
    result = send(store, config_dir, port, tmp_path, dry_run=True)

    assert not result.sent and result.skipped_reason.startswith("dry run")
    assert len(result.recipients) == 3 and inbox.envelopes == []
    assert Path(result.paths["eml"]).is_file() and Path(result.paths["html"]).is_file()
    # Nothing was recorded: the real send still goes out.
    assert send(store, config_dir, port, tmp_path).sent


def test_an_unreachable_server_is_a_clear_error_and_nothing_is_recorded(
        store, config_dir, tmp_path):
    with pytest.raises(MailError, match=r"127\.0\.0\.1:\d+"):
        send(store, config_dir, _free_port(), tmp_path)
    with store.session() as s:
        assert s.scalar(select(func.count(DigestSendRow.id))) == 0


def test_no_recipients_is_reported_not_sent(store, config_dir, smtp, tmp_path):
    (config_dir / "digest.yaml").write_text("pdf: false\n", encoding="utf-8")
    result = send(store, config_dir, smtp[1], tmp_path)
    assert not result.sent and "no recipients configured" in result.skipped_reason


def test_an_empty_week_is_sent_and_says_so(config_dir, smtp, tmp_path):
    inbox, port = smtp
    st = Store.open(f"sqlite:///{tmp_path}/empty.sqlite")
    add(st, "old", seen=datetime(2026, 10, 1), labels={"miljo": 0.9})
    send(st, config_dir, port, tmp_path)
    (message,) = inbox.for_recipient(EVERYTHING)
    assert "Inga nya dokument denna vecka." in message.get_body(("html",)).get_content()
    assert "Inga nya dokument denna vecka." in message.get_body(("plain",)).get_content()


@pytest.mark.parametrize(
    ("yaml_text", "key"),
    [
        ("recipients:\n  areas:\n    hamnar: [a@b.se]\n", "recipients.areas.hamnar"),
        ("recipients:\n  everything: [inte-en-adress]\n", "recipients.everything"),
        ("per_area: 0\n", "per_area"),
        ("subject: 'vecka {vecka}'\n", "subject"),
        ("ranking:\n  novelty: 2\n", "ranking.novelty"),
    ],
)
def test_a_wrong_digest_yaml_names_the_key(config_dir, yaml_text, key):
    from omvarld.config.load import load_focus_areas

    (config_dir / "digest.yaml").write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_digest_config(config_dir).check_areas(load_focus_areas(config_dir))
    assert caught.value.where == "digest.yaml" and caught.value.key == key


def test_the_shipped_digest_yaml_is_valid_and_mails_no_one():
    from omvarld.config.load import load_focus_areas

    config = load_digest_config(CONFIG).check_areas(load_focus_areas(CONFIG))
    assert config.recipients.groups(load_focus_areas(CONFIG).ids) == []
    assert config.per_area == 5 and config.ranking.doc_type["proposition"] == 0.45


def test_its_commented_example_is_valid(tmp_path):
    from omvarld.config.load import load_focus_areas

    lines = (CONFIG / "digest.yaml").read_text(encoding="utf-8").splitlines()
    start = lines.index("# recipients:")
    example = [line.removeprefix("# ") for line in lines[start:] if line.startswith("# ")]
    (tmp_path / "digest.yaml").write_text("\n".join(example) + "\n", encoding="utf-8")
    areas = load_focus_areas(CONFIG)
    groups = dict(load_digest_config(tmp_path).check_areas(areas).recipients.groups(areas.ids))
    assert groups[tuple(areas.ids)] == ["omvarld@malmo.se"]
    assert groups[("transport",)] == ["trafik.omvarld@malmo.se"]


def test_the_digest_a_flow_just_wrote_is_the_one_sent(store, config_dir, smtp, tmp_path):
    from omvarld.config.digest import load_digest_config as load
    from omvarld.config.load import load_focus_areas
    from omvarld.digest.write import write_digest

    inbox, port = smtp
    areas = load_focus_areas(config_dir)
    # The flow's build step writes with its own options: one entry per area.
    write_digest(store, WEEK, tmp_path / "digests", areas=areas, now=NOW, per_area=1,
                 config=load(config_dir))
    add(store, "late", labels={"transport": 0.95}, title="Sent inkommen hamnutredning")

    result = send(store, config_dir, port, tmp_path)

    (message,) = inbox.for_recipient(TRANSPORT)
    html = message.get_body(("html",)).get_content()
    assert "Ny järnväg Malmö–Lund" in html and "… och 1 till" in html  # per_area=1 kept
    assert "Sent inkommen hamnutredning" not in html  # the archive, not a rebuild
    assert result.paths["json"].endswith("2026-W47.json")

    rebuilt = send(store, config_dir, port, tmp_path, force=True, rebuild=True)
    (_, again) = inbox.for_recipient(TRANSPORT)
    assert rebuilt.sent and "Sent inkommen hamnutredning" in again.get_body(("html",)).get_content()


def test_a_damaged_archive_is_built_again(store, config_dir, smtp, tmp_path):
    inbox, port = smtp
    send(store, config_dir, port, tmp_path, dry_run=True)
    (tmp_path / "digests" / "2026-W47.json").write_text("{not json", encoding="utf-8")

    assert send(store, config_dir, port, tmp_path).sent
    (message,) = inbox.for_recipient(EVERYTHING)
    assert "Fler jobb för nyanlända" in message.get_body(("html",)).get_content()
