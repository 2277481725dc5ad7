"""The digest's standalone HTML page in a real browser (Debian's chromium, headless, driven
by Playwright): no script errors, every section present, charts loaded, a hostile title
shown as text, an empty week saying so."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import pytest

from factories import NOW, SCRIPT_TITLE, WEEK, add
from omvarld.config.digest import DigestConfig
from omvarld.config.load import load_focus_areas
from omvarld.digest.positions import Positions
from omvarld.digest.write import write_digest
from omvarld.store import Store

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None,
    reason="Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)",
)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def open_page(browser, path: Path):
    page = browser.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}")
            if msg.type == "error" else None)
    page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"),
                                      dialog.dismiss()))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, problems


def write(store: Store, tmp_path: Path) -> Path:
    areas = load_focus_areas()
    paths = write_digest(store, WEEK, tmp_path / "out", areas=areas, now=NOW,
                         config=DigestConfig(pdf=False), positions=Positions())
    return paths["html"]


def test_every_section_is_present_and_nothing_runs(browser, tmp_path):
    store = Store.open(f"sqlite:///{tmp_path}/s.sqlite")
    add(store, "rail", labels={"transport": 0.9}, doc_type="proposition",
        title="Ny stambana Malmö–Hässleholm")
    add(store, "xss", labels={"miljo": 0.8}, title=SCRIPT_TITLE)
    add(store, "remiss", labels={"bostader": 0.7}, doc_type="remiss",
        title="Remiss om bostadsförsörjning", deadline=date(2026, 12, 14))
    page, problems = open_page(browser, write(store, tmp_path))

    sections = page.eval_on_selector_all("h2[id], h3[id]", "els => els.map(e => e.id)")
    assert sections == [
        "agera", "remisser", "positioner",
        *(f"area-{a}" for a in load_focus_areas().ids),
        "aktorer", "trender",
    ]
    assert problems == []
    assert page.locator("script").count() == 0
    # The hostile title is shown as text, not run.
    assert page.get_by_text(SCRIPT_TITLE, exact=True).count() == 1
    # Six trend charts, each decoded by the browser.
    widths = page.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
    assert len(widths) == 6 and all(w > 0 for w in widths)
    remisser = page.locator("#remisser + p + table").inner_text()
    assert "2026-12-14" in remisser and "Remiss om bostadsförsörjning" in remisser
    assert page.title() == "Omvärldsbevakning vecka 47, 2026"
    page.close()


def test_an_empty_week_says_so_in_the_browser(browser, tmp_path):
    store = Store.open(f"sqlite:///{tmp_path}/s.sqlite")
    add(store, "earlier", seen=datetime(2026, 10, 1), labels={"miljo": 0.9})
    page, problems = open_page(browser, write(store, tmp_path))

    assert problems == []
    assert page.get_by_text("Inga nya dokument denna vecka.").is_visible()
    assert page.locator("text=Inget nytt denna vecka.").count() == 6
    # The trend still shows the earlier week's document.
    trends = page.locator("#trender + p + table").inner_text()
    assert "Miljö och klimat" in trends and "0 denna vecka" in trends
    page.close()
