"""Access control for the web app: off on a loopback address, required on any other.

Two ways in, either or both configured: a bearer token (`OMVARLD_WEB_TOKEN`, at least 32
characters; API clients send `Authorization: Bearer …`, browsers log in once on `/login`
and keep an HttpOnly cookie naming a server-side session that expires and that logging
out deletes) and basic-auth users (`OMVARLD_WEB_USERS`, `name:hash` pairs). Passwords are
stored as salted scrypt hashes (hashlib, the standard library's memory-hard KDF) so a
leaked `.env` does not give the passwords away. Failed logins are throttled per client.

Requests must name an allowed host (the loopback names, OMVARLD_WEB_HOST and
OMVARLD_WEB_ALLOWED_HOSTS), so a page on another name that resolves to this machine (DNS
rebinding) is refused. A POST must come with an Origin (or Referer) of this host, or,
without either, with the CSRF token the pages embed (or a bearer token, which browsers
never send on their own)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit

from fastapi import HTTPException, Request, status

from omvarld.core.errors import ConfigError
from omvarld.core.settings import Settings

COOKIE = "omvarld_session"
CSRF_COOKIE = "omvarld_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
MIN_TOKEN = 32
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "127.0.0.1", "::1"})
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """`scrypt$n$r$p$salt$hash` (base64): what `OMVARLD_WEB_USERS` stores per user."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    b64 = base64.urlsafe_b64encode
    return "$".join(["scrypt", str(_SCRYPT["n"]), str(_SCRYPT["r"]), str(_SCRYPT["p"]),
                     b64(salt).decode(), b64(digest).decode()])


@lru_cache(maxsize=256)
def verify_password(password: str, encoded: str) -> bool:
    """True when `password` matches the stored hash (cached: the browser sends basic
    credentials with every request, and scrypt is meant to be slow)."""
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.urlsafe_b64decode(digest)
        actual = hashlib.scrypt(password.encode(), salt=base64.urlsafe_b64decode(salt),
                                n=int(n), r=int(r), p=int(p), dklen=len(expected))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def parse_users(spec: str | None) -> dict[str, str]:
    """`alice:scrypt$…,bob:scrypt$…` → {name: hash}; a malformed entry is a ConfigError."""
    users: dict[str, str] = {}
    for raw in (spec or "").split(","):
        entry = raw.strip()
        if not entry:
            continue
        name, sep, encoded = entry.partition(":")
        if not sep or not name or not encoded.startswith("scrypt$") or encoded.count("$") != 5:
            raise ConfigError("environment", "OMVARLD_WEB_USERS",
                              f"entry {name or entry[:20]!r} is not `name:scrypt$…`; write "
                              "one with `omvarld web-password NAME`")
        users[name] = encoded
    return users


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Principal:
    """Who is asking: a basic-auth user has a name; token holders and open access don't
    (the correction form then asks for one)."""

    method: Literal["open", "token", "basic"]
    name: str | None = None


class AccessPolicy:
    def __init__(self, token: str | None, users: dict[str, str], *,
                 allowed_hosts: frozenset[str] = LOOPBACK_NAMES,
                 session_hours: float = 12.0) -> None:
        self.token = token or None
        self.users = users
        self.allowed_hosts = allowed_hosts
        self.session_hours = session_hours
        self.throttle = LoginThrottle()

    @classmethod
    def from_settings(cls, settings: Settings) -> AccessPolicy:
        """The policy for `settings`; refuses a non-loopback address without any, and a
        token anyone could guess."""
        token = settings.web_token.get_secret_value() if settings.web_token else None
        if token is not None and len(token.strip()) < MIN_TOKEN:
            raise ConfigError("environment", "OMVARLD_WEB_TOKEN",
                              f"is {len(token.strip())} characters long; use at least "
                              f"{MIN_TOKEN}, "
                              "e.g. `python -c 'import secrets; print(secrets.token_urlsafe"
                              "(32))'`")
        policy = cls(token, parse_users(settings.web_users),
                     allowed_hosts=allowed_hosts(settings),
                     session_hours=settings.web_session_hours)
        if not policy.required and not is_loopback(settings.web_host):
            raise ConfigError(
                "environment", "OMVARLD_WEB_HOST",
                f"{settings.web_host} is reachable from other machines: set OMVARLD_WEB_TOKEN "
                "or OMVARLD_WEB_USERS (see `omvarld web-password`), or bind to 127.0.0.1")
        return policy

    @property
    def required(self) -> bool:
        return bool(self.token or self.users)

    def check_token(self, candidate: str) -> bool:
        return bool(self.token) and hmac.compare_digest(candidate.encode(), self.token.encode())

    def host_allowed(self, request: Request) -> bool:
        return host_name(request.headers.get("host", "")) in self.allowed_hosts

    def identify(self, request: Request, session: Principal | None = None) -> Principal | None:
        """The principal behind `request` (`session`: the one its session cookie names,
        looked up by the caller), or None when it carries no valid credentials."""
        if not self.required:
            return Principal("open")
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if self.token and scheme.lower() == "bearer" and self.check_token(value.strip()):
            return Principal("token")
        if session is not None:
            return session
        if self.users and scheme.lower() == "basic":
            try:
                name, _, password = base64.b64decode(value).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            encoded = self.users.get(name)
            if encoded and verify_password(password, encoded):
                return Principal("basic", name)
        return None

    def offers_credentials(self, request: Request) -> bool:
        """Whether `request` tries to log in (a failure then counts toward the throttle)."""
        return bool(request.headers.get("authorization"))

    def challenge(self, request: Request) -> HTTPException:
        """401 for the API and basic auth; browsers with a token go to the login page."""
        wants_html = "text/html" in request.headers.get("accept", "")
        if self.token and wants_html and not request.url.path.startswith("/api"):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return HTTPException(status.HTTP_303_SEE_OTHER,
                                 headers={"Location": f"/login?next={_quote(target)}"})
        headers = {"WWW-Authenticate": 'Basic realm="omvarld"'} if self.users else {
            "WWW-Authenticate": "Bearer"}
        return HTTPException(status.HTTP_401_UNAUTHORIZED, "Inloggning krävs.", headers=headers)


def host_name(host: str) -> str:
    """`Host` without its port, lower-case: `[::1]:8000` → `::1`, `Evil.example:80` →
    `evil.example`."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def allowed_hosts(settings: Settings) -> frozenset[str]:
    """The loopback names, the address bound to (unless a wildcard) and the configured
    names."""
    names = set(LOOPBACK_NAMES)
    if settings.web_host not in ("0.0.0.0", "::", ""):
        names.add(host_name(settings.web_host))
    names |= {host_name(n) for n in (settings.web_allowed_hosts or "").split(",") if n.strip()}
    return frozenset(names)


def same_origin(request: Request) -> bool:
    """The post names this app as its origin: browsers send Origin (or at least Referer)
    with cross-site posts, which would otherwise ride on a cookie or basic-auth
    credentials. The Host it is compared with has passed the allowed-hosts check."""
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if not claimed or claimed == "null":
        return False
    return urlsplit(claimed).netloc.lower() == request.headers.get("host", "").lower()


def post_allowed(request: Request, csrf: str = "") -> bool:
    """A state-changing request is this app's own: a matching Origin (or Referer); with
    neither, a CSRF token matching the cookie (form field or X-CSRF-Token header) or a
    bearer token (never sent by a browser on its own). A foreign Origin is refused
    whatever else the request carries."""
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if claimed and claimed != "null":
        return same_origin(request)
    if claimed == "null":
        return False
    expected = request.cookies.get(CSRF_COOKIE, "")
    offered = csrf or request.headers.get(CSRF_HEADER, "")
    if expected and offered and hmac.compare_digest(offered.encode(), expected.encode()):
        return True
    return request.headers.get("authorization", "").lower().startswith("bearer ")


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def session_key(secret: str) -> str:
    """What the store keeps of a session cookie: its SHA-256."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass
class _Failures:
    count: int = 0
    locked_until: float = 0.0


@dataclass
class LoginThrottle:
    """Failed logins per client: the first `free` pass at once; after that each failure
    locks the client out for twice as long as the last (1 s, 2 s, 4 s … up to `cap`),
    during which every attempt is answered 429 without checking it. A success clears it."""

    free: int = 5
    cap: float = 900.0
    _clients: dict[str, _Failures] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def retry_after(self, client: str, now: float | None = None) -> int:
        """Seconds `client` must wait; 0 when it may try."""
        now = time.monotonic() if now is None else now
        with self._lock:
            entry = self._clients.get(client)
            return max(0, int(entry.locked_until - now + 0.999)) if entry else 0

    def failed(self, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._clients) > 10_000:  # a flood of addresses: forget the oldest
                self._clients.pop(next(iter(self._clients)))
            entry = self._clients.setdefault(client, _Failures())
            entry.count += 1
            if entry.count > self.free:
                entry.locked_until = now + min(self.cap, 2.0 ** (entry.count - self.free - 1))

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._clients.pop(client, None)


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def too_many(retry: int) -> HTTPException:
    return HTTPException(status.HTTP_429_TOO_MANY_REQUESTS,
                         f"För många misslyckade inloggningar; försök igen om {retry} s.",
                         headers={"Retry-After": str(retry)})


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/")
