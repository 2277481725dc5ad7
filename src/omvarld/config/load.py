"""The configuration files in `config/`: what to watch and what it is about.

Each file is validated when loaded; a wrong value stops with a message naming the file,
the source and the key ("sources.yaml: `sources[skr].row`: Field required"). A source's keys
are typed per `kind` (a discriminated union), so a listing without a `row` selector or a feed
without `feeds` is refused when the file is read, not when the crawl meets it."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from omvarld.core.areas import (
    LANGUAGES,
    FocusArea,
    FocusAreas,
    StakeholderEntry,
    Stakeholders,
)
from omvarld.core.errors import ConfigError
from omvarld.core.model import Level
from omvarld.core.schema import Strict, load_yaml_model

M = TypeVar("M", bound=BaseModel)

__all__ = [
    "LANGUAGES", "AnySource", "DeclaredSource", "FeedSource", "FocusArea", "FocusAreas",
    "HtmlListingSource", "JsonApiSource", "SitemapSource", "Source", "Sources", "SpiderSource",
    "StakeholderEntry", "Stakeholders", "Strict", "load_focus_areas", "load_sources",
    "load_stakeholders", "load_yaml_model",
]


Kind = Literal["feed", "sitemap", "html_listing", "json_api", "spider"]
DateOrder = Literal["DMY", "MDY", "YMD"]


class Source(Strict):
    """What every source has, whatever its kind: who publishes it and where it lives.

    `kind` says how it is read: `feed` (RSS/Atom), `sitemap`, `html_listing` and `json_api`
    are declared entirely in YAML (the keys below); `spider` names a spider class in
    `omvarld.crawl.sources` for the APIs that need code, with its own `params`.
    """

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: Kind
    name: str
    publisher: str
    level: Level
    base_url: str
    enabled: bool = True
    language: str = "sv"

    @field_validator("base_url")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @property
    def spider(self) -> str:
        """The name of the spider class that reads this source (the kind's own, for the
        declared kinds)."""
        return self.kind

    @property
    def params(self) -> dict[str, Any]:
        """The kind's own settings as one mapping (what a spider reads of its source)."""
        common = set(Source.model_fields)
        return {k: v for k, v in self.model_dump().items() if k not in common}


class DeclaredSource(Source):
    """What the declared kinds share: how a row becomes a typed, dated document."""

    # the document type of a row no `type_rules` entry matches
    doc_type: str = "news"
    # [regex on the lower-cased title + URL (+ `row_type` text), type]: the first match wins
    type_rules: list[tuple[str, str]] = Field(default_factory=list)
    # languages written dates are read in, and the order of a numeric date (9/25/2026: MDY)
    date_languages: list[str] | None = None
    date_order: DateOrder = "DMY"
    # where a detail page states its date when the row has none ("Publicerad: 2026-10-28")
    detail_date: str | None = None
    follow_detail: bool = True
    max_pages: int = Field(default=5, ge=1)
    # read the PDFs of every document (true), of none (false), or by document type (unset)
    pdf: bool | None = None

    @field_validator("type_rules")
    @classmethod
    def _patterns_compile(cls, value: list[tuple[str, str]]) -> list[tuple[str, str]]:
        for pattern, _ in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from exc
        return value


def _paths(value: list[str]) -> list[str]:
    for path in value:
        if not path.startswith("/"):
            raise ValueError(f"{path!r}: a path under base_url starts with /")
    return value


class FeedSource(DeclaredSource):
    """RSS 2.0 or Atom: `feeds` are paths under base_url; `page_param` pages a feed."""

    kind: Literal["feed"]
    feeds: list[str] = Field(min_length=1)
    page_param: str | None = None

    _feeds_are_paths = field_validator("feeds")(_paths)


class SitemapSource(DeclaredSource):
    """A sitemap (or sitemap index): `sitemaps` are paths, else the `Sitemap:` lines of
    robots.txt; `follow` keeps the URLs matching any of its regexes; `lastmod` is the
    version, so an unchanged page is not fetched again."""

    kind: Literal["sitemap"]
    sitemaps: list[str] = Field(default_factory=list)
    follow: list[str] = Field(default_factory=list)
    # entries with a lastmod older than this many days are left out (None: all)
    since_days: int | None = Field(default=None, ge=1)

    _sitemaps_are_paths = field_validator("sitemaps")(_paths)


class ListingPost(Strict):
    """A listing a page fills by a POST (Danish ministries' `surface/FilterListe`): the
    form is posted to `path`, with a token read from the listing page if named."""

    path: str
    form: dict[str, str] = Field(default_factory=dict)
    token_selector: str | None = None  # CSS on the listing page, `::attr(value)` or text
    token_field: str | None = None  # the form field the token is sent in


class HtmlListingSource(DeclaredSource):
    """HTML listing pages: CSS selectors, relative to a row, for link, title, date and
    summary (`null` where the listing does not show it); `next_page` finds the next page."""

    kind: Literal["html_listing"]
    listings: list[str] = Field(min_length=1)
    # the CSS of one row; or `jsonld_items: true` for a page that lists its items as a
    # JSON-LD `ItemList` (the rows are then URLs; title and date come from each page)
    row: str | None = None
    jsonld_items: bool = False
    link: str = "a::attr(href)"
    title: str | None = "a ::text"
    date: str | None = "time::attr(datetime)"
    summary: str | None = None
    next_page: str | None = None
    # text of the row read with the title for `type_rules` ("::attr(class)", a tag label)
    row_type: str | None = None
    post: ListingPost | None = None

    _listings_are_paths = field_validator("listings")(_paths)

    @model_validator(mode="after")
    def _rows_from_somewhere(self) -> HtmlListingSource:
        if not self.row and not self.jsonld_items:
            raise ValueError("row: Field required (the CSS of one row), or jsonld_items: true")
        return self


class JsonFields(Strict):
    """Dotted paths into one API item; `url` may be a template over the item's fields."""

    url: str | None = None
    url_template: str | None = None  # "/news/{id}" (a path under base_url, or absolute)
    title: str = "title"
    date: str | None = None
    summary: str | None = None
    text: str | None = None
    identifier: str | None = None


class JsonApiSource(DeclaredSource):
    """A paged JSON API: `api` + `query`; items at the first of `items` that holds a
    list, the total at `total`, a next link at `next`, else page or offset counting."""

    kind: Literal["json_api"]
    api: str
    query: dict[str, Any] = Field(default_factory=dict)
    items: list[str] = Field(default_factory=lambda: ["data"], min_length=1)
    total: list[str] = Field(default_factory=list)
    next: str | None = None
    page_param: str = "page"
    page_size_param: str | None = None
    page_size: int = Field(default=50, ge=1)
    first_page: int = 1
    offset_paging: bool = False
    fields: JsonFields
    follow_detail: bool = False

    @model_validator(mode="after")
    def _url_given(self) -> JsonApiSource:
        if not (self.fields.url or self.fields.url_template):
            raise ValueError("fields: give `url` (a path in the item) or `url_template`")
        return self


class SpiderSource(Source):
    """A source read by its own spider class (`spider`), with that spider's `params`."""

    kind: Literal["spider"]
    spider_name: str = Field(alias="spider")
    source_params: dict[str, Any] = Field(default_factory=dict, alias="params")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @property
    def spider(self) -> str:
        return self.spider_name

    @property
    def params(self) -> dict[str, Any]:
        return self.source_params


AnySource = Annotated[
    FeedSource | SitemapSource | HtmlListingSource | JsonApiSource | SpiderSource,
    Field(discriminator="kind"),
]


class Sources(Strict):
    sources: list[AnySource]

    @model_validator(mode="before")
    @classmethod
    def _kind_of_spider_entries(cls, data: Any) -> Any:
        """An entry that names a `spider` and no `kind` is of kind `spider`."""
        if isinstance(data, dict) and isinstance(data.get("sources"), list):
            for entry in data["sources"]:
                if isinstance(entry, dict) and "kind" not in entry and "spider" in entry:
                    entry["kind"] = "spider"
        return data

    @field_validator("sources")
    @classmethod
    def _unique_ids(cls, value: list[Source]) -> list[Source]:
        ids = [s.id for s in value]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise ValueError(f"duplicate source id {sorted(dupes)}")
        return value

    @property
    def enabled(self) -> list[Source]:
        return [s for s in self.sources if s.enabled]

    def get(self, source_id: str) -> Source:
        for source in self.sources:
            if source.id == source_id:
                return source
        known = ", ".join(s.id for s in self.sources)
        raise ConfigError("sources.yaml", source_id, f"no such source; known: {known}")


@cache
def _load_cached(path: Path, model: type[M], mtime: float) -> M:
    return load_yaml_model(path, model)


def _load(config_dir: Path | None, filename: str, model: type[M]) -> M:
    if config_dir is None:
        from omvarld.core.settings import get_settings

        config_dir = get_settings().config_dir
    path = Path(config_dir) / filename
    mtime = path.stat().st_mtime if path.exists() else 0.0
    return _load_cached(path, model, mtime)


def load_focus_areas(config_dir: Path | None = None) -> FocusAreas:
    return _load(config_dir, "focus_areas.yaml", FocusAreas)


def load_sources(config_dir: Path | None = None) -> Sources:
    return _load(config_dir, "sources.yaml", Sources)


def load_stakeholders(config_dir: Path | None = None) -> Stakeholders:
    return _load(config_dir, "stakeholders.yaml", Stakeholders)
