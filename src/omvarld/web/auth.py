"""Access control for the web app: off on a loopback address, required on any other.

Two ways in, either or both configured: a bearer token (`OMVARLD_WEB_TOKEN`; API clients
send `Authorization: Bearer …`, browsers log in once on `/login` and keep an HttpOnly
cookie derived from it) and basic-auth users (`OMVARLD_WEB_USERS`, `name:hash` pairs).
Passwords are stored as salted scrypt hashes (hashlib, the standard library's memory-hard
KDF) so a leaked `.env` does not give the passwords away. Forms are protected from
cross-site posts by comparing the Origin (or Referer) with the host."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit

from fastapi import HTTPException, Request, status

from omvarld.core.errors import ConfigError
from omvarld.core.settings import Settings

COOKIE = "omvarld_session"
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
    if host in ("localhost", "localhost.localdomain"):
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
    def __init__(self, token: str | None, users: dict[str, str]) -> None:
        self.token = token or None
        self.users = users

    @classmethod
    def from_settings(cls, settings: Settings) -> AccessPolicy:
        """The policy for `settings`; refuses a non-loopback address without any."""
        policy = cls(settings.web_token.get_secret_value() if settings.web_token else None,
                     parse_users(settings.web_users))
        if not policy.required and not is_loopback(settings.web_host):
            raise ConfigError(
                "environment", "OMVARLD_WEB_HOST",
                f"{settings.web_host} is reachable from other machines: set OMVARLD_WEB_TOKEN "
                "or OMVARLD_WEB_USERS (see `omvarld web-password`), or bind to 127.0.0.1")
        return policy

    @property
    def required(self) -> bool:
        return bool(self.token or self.users)

    def session_value(self) -> str:
        """The cookie a browser keeps after logging in with the token: derived from it,
        so the cookie is not the token itself."""
        assert self.token
        return hmac.new(self.token.encode(), b"omvarld-web-session", "sha256").hexdigest()

    def check_token(self, candidate: str) -> bool:
        return bool(self.token) and hmac.compare_digest(candidate.encode(), self.token.encode())

    def identify(self, request: Request) -> Principal | None:
        """The principal behind `request`, or None when it carries no valid credentials."""
        if not self.required:
            return Principal("open")
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if self.token and scheme.lower() == "bearer" and self.check_token(value.strip()):
            return Principal("token")
        cookie = request.cookies.get(COOKIE)
        if self.token and cookie and hmac.compare_digest(cookie, self.session_value()):
            return Principal("token")
        if self.users and scheme.lower() == "basic":
            try:
                name, _, password = base64.b64decode(value).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            encoded = self.users.get(name)
            if encoded and verify_password(password, encoded):
                return Principal("basic", name)
        return None

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


def same_origin(request: Request) -> bool:
    """A form post must come from a page of this app: browsers send Origin (or at least
    Referer) with cross-site posts, which would otherwise ride on basic-auth credentials."""
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if not claimed or claimed == "null":
        return claimed is None
    return urlsplit(claimed).netloc == request.headers.get("host", "")


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/")
