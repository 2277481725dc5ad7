"""What a page says about itself in standard metadata, read before any per-site selector.

Order, first found wins:

- **title**: JSON-LD `headline`/`name` → `og:title` → `DC.title`/`dcterms.title` →
  `twitter:title` → the EU sites' `WT.z_docTitle` → `h1` → `<title>`; a trailing site name
  ("… | News | European Parliament", "… - Regeringen.se") is cut off.
- **date**: JSON-LD `datePublished` → `article:published_time` → `DC.date` →
  `DC.date.created` (on regeringen.se's older pages: when the page was migrated) /
  `dcterms.created` / `dcterms.date` / `meta[name=date|published]` →
  `<time datetime>` → htmldate (original date, no guessing from the URL alone).
- **canonical URL**: `<link rel=canonical>` → `og:url` → JSON-LD `url` → the fetched URL.
- **description**: JSON-LD `description` → `og:description` → `meta[name=description]` →
  `DC.description`.

`chrome_share` measures whether an extracted main text is really the site's navigation or
a bare download list: the share of its lines that are link texts of the page or known
boilerplate lines ("Hoppa till huvudinnehåll", "Lyssna", "English website").
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urljoin

from parsel import Selector

from omvarld.core.model import clean_text
from omvarld.crawl.dates import parse_date

# Lines that are page chrome wherever they stand (lower-cased, whole lines).
BOILERPLATE_LINES = frozenset(
    {
        "hoppa till huvudinnehåll", "till huvudinnehåll", "gå direkt till innehåll",
        "gå till innehåll", "lyssna", "english website", "other languages", "meny", "menu",
        "sök", "search", "stäng", "close", "skip to main content", "skip to content",
        "spring til indhold", "gå til indhold", "til forsiden", "till startsidan", "startsida",
        "kontakta oss", "kontakt", "om webbplatsen", "tillgänglighet", "cookies",
        "om kakor", "dela", "share", "skriv ut", "print", "prenumerera", "rss",
        "tillgänglighetsredogörelse", "lätt svenska", "teckenspråk", "andra språk",
        "in english", "logga in", "facebook", "twitter", "linkedin", "instagram", "youtube",
    }
)
# A text with this share of chrome lines (and at least `MIN_CHROME_LINES` of them) is not
# the document's text.
CHROME_SHARE_LIMIT = 0.6
MIN_CHROME_LINES = 3
_SITE_SUFFIX = re.compile(r"\s+[|–—-]\s+[^|–—-]{2,60}$")
ARTICLE_TYPES = (
    "article", "newsarticle", "report", "webpage", "pressrelease", "legislation",
    "governmentservice", "blogposting", "scholarlyarticle", "event",
)


@dataclass
class PageMeta:
    title: str = ""
    published: date | None = None
    canonical: str = ""
    description: str = ""
    site_name: str = ""
    jsonld: list[dict[str, Any]] = field(default_factory=list)
    # which rule gave each field ("og:title", "DC.date", "htmldate" …)
    found_by: dict[str, str] = field(default_factory=dict)


def jsonld_objects(page: Selector) -> list[dict[str, Any]]:
    """Every JSON-LD object of the page, `@graph` members and lists flattened; a script
    that does not parse is ignored."""
    out: list[dict[str, Any]] = []
    for script in page.css('script[type="application/ld+json"]::text').getall():
        try:
            data = json.loads(script)
        except json.JSONDecodeError:
            continue
        out.extend(_flatten(data))
    return out


def _flatten(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, list):
        for item in data:
            yield from _flatten(item)
    elif isinstance(data, dict):
        yield data
        if isinstance(data.get("@graph"), list):
            yield from _flatten(data["@graph"])


def _types(obj: dict[str, Any]) -> list[str]:
    kind = obj.get("@type") or []
    return [str(k).lower() for k in (kind if isinstance(kind, list) else [kind])]


def main_jsonld(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The object that describes the page's document (an Article, a WebPage …)."""
    for wanted in ARTICLE_TYPES:
        for obj in objects:
            if wanted in _types(obj):
                return obj
    for obj in objects:
        if "headline" in obj or "datePublished" in obj:
            return obj
    return {}


def jsonld_item_urls(objects: list[dict[str, Any]], base: str) -> list[str]:
    """The URLs of a JSON-LD `ItemList` (a listing that describes itself)."""
    urls: list[str] = []
    for obj in objects:
        if "itemlist" not in _types(obj):
            continue
        for element in obj.get("itemListElement") or []:
            if isinstance(element, dict):
                item = element.get("item")
                url = element.get("url") or (item.get("url") if isinstance(item, dict) else item)
                if isinstance(url, str) and url.strip():
                    urls.append(urljoin(base, url.strip()))
    return urls


def _meta(page: Selector, *names: str) -> tuple[str, str] | None:
    """The first non-empty `<meta>` among `names` (matched on name, property or itemprop,
    case-insensitively, as CMSs write `DC.Date` and `dc.date` alike)."""
    wanted = [n.lower() for n in names]
    found: dict[str, str] = {}
    for meta in page.css("meta"):
        key = (
            meta.attrib.get("name") or meta.attrib.get("property") or meta.attrib.get("itemprop")
            or ""
        ).lower()
        value = (meta.attrib.get("content") or "").strip()
        if key in wanted and value and key not in found:
            found[key] = value
    for name, key in zip(names, wanted, strict=True):
        if key in found:
            return name, found[key]
    return None


def without_site_name(title: str, site_names: tuple[str, ...] = ()) -> str:
    """"EP paves way … | News | European Parliament" → "EP paves way …"."""
    title = clean_text(title).replace("\n", " ")
    if " | " in title:
        title = title.split(" | ")[0]
    for name in site_names:
        for sep in (" - ", " – ", " — "):
            if name and title.lower().endswith(f"{sep}{name}".lower()):
                title = title[: -len(sep + name)]
    return title.strip()


def read_title(page: Selector, ld: dict[str, Any]) -> tuple[str, str]:
    site = (_meta(page, "og:site_name") or ("", ""))[1]
    raw_title = clean_text(page.css("title::text").get())
    tail = _SITE_SUFFIX.search(raw_title)
    suffix = re.split(r"[|–—-]", tail.group(0), maxsplit=1)[1].strip() if tail else ""
    sites = (site, suffix)
    for key in ("headline", "name"):
        value = ld.get(key)
        if isinstance(value, str) and value.strip():
            return without_site_name(value, sites), f"JSON-LD {key}"
    found = _meta(page, "og:title", "DC.title", "dcterms.title", "twitter:title", "WT.z_docTitle")
    if found:
        return without_site_name(found[1], sites), found[0]
    h1 = clean_text(" ".join(page.css("h1 ::text").getall())).replace("\n", " ")
    if h1:
        return h1, "h1"
    if raw_title:
        return without_site_name(raw_title, sites), "title"
    return "", ""


def read_date(page: Selector, ld: dict[str, Any], html: str, url: str) -> tuple[date | None, str]:
    value = ld.get("datePublished") or ld.get("dateCreated")
    if isinstance(value, str) and (found := parse_date(value)):
        return found, "JSON-LD datePublished"
    meta = _meta(
        page, "article:published_time", "DC.date", "DC.date.created", "dcterms.created",
        "dcterms.date", "DC.date.issued", "dcterms.issued", "date", "published",
        "og:published", "citation_publication_date",
    )
    if meta and (found := parse_date(meta[1])):
        return found, meta[0]
    for stamp in page.css("time::attr(datetime)").getall():
        if found := parse_date(stamp):
            return found, "time[datetime]"
    from htmldate import find_date

    try:
        stamp = find_date(html, url=url, original_date=True, extensive_search=False)
    except (ValueError, TypeError):
        stamp = None
    if stamp and (found := parse_date(stamp)):
        return found, "htmldate"
    return None, ""


def read_canonical(page: Selector, ld: dict[str, Any], fetched: str) -> tuple[str, str]:
    for value, how in (
        (page.css('link[rel="canonical"]::attr(href)').get(), "link[rel=canonical]"),
        (page.css('meta[property="og:url"]::attr(content)').get(), "og:url"),
        (ld.get("url") if isinstance(ld.get("url"), str) else None, "JSON-LD url"),
    ):
        if value and value.strip():
            return urljoin(fetched, value.strip()), how
    return fetched, "fetched URL"


def read_description(page: Selector, ld: dict[str, Any]) -> str:
    value = ld.get("description")
    if isinstance(value, str) and value.strip():
        return clean_text(value)
    found = _meta(page, "og:description", "description", "DC.description", "dcterms.description")
    return clean_text(found[1]) if found else ""


def page_meta(html: str | Selector, url: str) -> PageMeta:
    """The standard metadata of one HTML page; `url` is its public URL."""
    page = html if isinstance(html, Selector) else Selector(text=html)
    source = html if isinstance(html, str) else page.get()
    objects = jsonld_objects(page)
    ld = main_jsonld(objects)
    title, by_title = read_title(page, ld)
    published, by_date = read_date(page, ld, source, url)
    canonical, by_url = read_canonical(page, ld, url)
    return PageMeta(
        title=title,
        published=published,
        canonical=canonical,
        description=read_description(page, ld),
        site_name=(_meta(page, "og:site_name") or ("", ""))[1],
        jsonld=objects,
        found_by={"title": by_title, "date": by_date, "canonical": by_url},
    )


def chrome_share(text: str, page: Selector) -> tuple[float, int]:
    """The share of the text's lines that are chrome (a link text of the page, or a known
    boilerplate line), and how many lines that is."""
    lines = [" ".join(line.split()).lower() for line in text.splitlines() if line.strip()]
    if not lines:
        return 0.0, 0
    anchors = {
        " ".join(" ".join(a.css("::text").getall()).split()).lower() for a in page.css("a")
    }
    anchors.discard("")
    chrome = sum(1 for line in lines if line in anchors or line in BOILERPLATE_LINES)
    return chrome / len(lines), chrome


def is_chrome(text: str, page: Selector) -> bool:
    """A main text that is the site's navigation or a bare download list."""
    share, count = chrome_share(text, page)
    return count >= MIN_CHROME_LINES and share >= CHROME_SHARE_LIMIT
