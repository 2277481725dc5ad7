"""`omvarld sources check` against the local replay server.

A listing whose layout changed under its selectors: the check names the broken source,
finds the feed its page announces (`<link rel="alternate">`), prints a YAML entry, and that
entry, applied to sources.yaml, crawls. A site whose robots.txt names a sitemap gets a
sitemap entry. Healthy sources exit 0.

The broken site's responses are CONSTRUCTED here for a made-up publisher; the healthy check
runs on the project's own fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from conftest import FIXTURES
from omvarld.cli.main import app
from omvarld.config.load import load_sources
from omvarld.core.settings import get_settings
from omvarld.crawl.check import check_source
from omvarld.crawl.replay import ReplayServer
from omvarld.crawl.run import run_crawl_in_subprocess
from omvarld.store import Store

SITE = "https://www.exempelstad.se"
ITEMS = [
    ("/nyheter/budget-2027-antagen", "Budget 2027 antagen", "2026-11-19",
     "Kommunfullmäktige antog budgeten med satsningar på skola och bostäder."),
    ("/nyheter/ny-cykelbana-till-stationen", "Ny cykelbana till stationen", "2026-11-10",
     "Den nya cykelbanan knyter ihop bostadsområdena i öster med stationen."),
]
ARTICLE = """<!DOCTYPE html><html lang="sv"><head><meta charset="utf-8">
<title>{title} - Exempelstad</title><meta property="og:title" content="{title}">
<meta property="article:published_time" content="{date}"><link rel="canonical" href="{url}">
</head><body><main><article><h1>{title}</h1><p>{text}</p><p>Beslutet gäller från den
första januari och följs upp av kommunstyrelsen under året.</p></article></main></body></html>"""
# The listing after a redesign: rows are `li.kort` now, not `div.nyhet`; the head still
# announces the news feed.
LISTING = """<!DOCTYPE html><html lang="sv"><head><meta charset="utf-8"><title>Nyheter</title>
<link rel="alternate" type="application/rss+xml" title="Nyheter" href="/rss/nyheter">
</head><body><main><h1>Nyheter</h1><ul class="kortlista">{rows}</ul></main></body></html>"""
ROW = '<li class="kort"><a href="{path}"><span>{title}</span></a></li>'
FEED = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>
<title>Exempelstad</title><link>{site}/</link><description>Nyheter</description>{items}
</channel></rss>"""
ITEM = "<item><title>{title}</title><link>{url}</link><pubDate>{rfc}</pubDate></item>"
SITEMAP = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>"""

BROKEN = """
- id: exempelstad
  name: Exempelstad – nyheter
  publisher: Exempelstad
  level: local
  kind: html_listing
  base_url: https://www.exempelstad.se
  listings: [/nyheter/]
  row: div.nyhet
  link: a::attr(href)
  title: a ::text
  date: span.datum::text
  doc_type: press_release
"""


def write_site(root: Path, *, feed: bool, sitemap: bool) -> None:
    folder = root / "exempelstad"
    folder.mkdir(parents=True)
    rows = "".join(ROW.format(path=p, title=t) for p, t, _, _ in ITEMS)
    listing = LISTING.format(rows=rows)
    if not feed:
        listing = listing.replace('<link rel="alternate"', '<link rel="x-none"')
    files = {"listing.html": ("/nyheter/", listing, "text/html; charset=utf-8")}
    if feed:
        items = "".join(
            ITEM.format(title=t, url=SITE + p, rfc=f"Thu, {d[8:]} Nov 2026 08:00:00 +0100")
            for p, t, d, _ in ITEMS
        )
        files["feed.xml"] = ("/rss/nyheter", FEED.format(site=SITE, items=items),
                             "application/rss+xml")
    if sitemap:
        urls = "".join(f"<url><loc>{SITE + p}</loc><lastmod>{d}</lastmod></url>"
                       for p, _, d, _ in ITEMS)
        files["sitemap.xml"] = ("/sitemap.xml", SITEMAP.format(urls=urls), "application/xml")
        files["robots.txt"] = ("/robots.txt", f"User-agent: *\nSitemap: {SITE}/sitemap.xml\n",
                               "text/plain")
    for path, title, day, text in ITEMS:
        name = path.rsplit("/", 1)[1] + ".html"
        files[name] = (path, ARTICLE.format(title=title, date=day, url=SITE + path, text=text),
                       "text/html; charset=utf-8")
    routes = []
    for name, (path, body, content_type) in files.items():
        (folder / name).write_text(body, encoding="utf-8")
        routes.append({"path": path, "file": name, "content_type": content_type})
    (folder / "routes.json").write_text(json.dumps({"routes": routes}), encoding="utf-8")


def apply(config: Path, entry_yaml: str) -> None:
    """Replace the broken entry (the last in the file) with the suggested one."""
    path = config / "sources.yaml"
    text = path.read_text(encoding="utf-8")
    head = text[: text.rindex("  - id: exempelstad")]
    suggested = "".join(f"  {line}\n" for line in entry_yaml.splitlines())
    path.write_text(head + suggested, encoding="utf-8")
    get_settings.cache_clear()


def test_the_check_names_the_broken_source_finds_its_feed_and_the_entry_crawls(
    sources_config, tmp_path
):
    config = sources_config(BROKEN)
    write_site(tmp_path / "site", feed=True, sitemap=False)
    with ReplayServer(tmp_path / "site") as server:
        base = server.base_url("exempelstad")
        result = CliRunner().invoke(
            app, ["sources", "check", "exempelstad", "--base-url", base], env={"COLUMNS": "200"}
        )
        assert result.exit_code == 1, result.output
        assert "exempelstad (html_listing): BROKEN" in result.output
        assert "no `div.nyhet` rows" in result.output
        assert '<link rel="alternate"> on https://www.exempelstad.se/nyheter/' in result.output
        assert "kind: feed" in result.output and "- /rss/nyheter" in result.output

        (suggestion,) = check_source(load_sources().get("exempelstad"), base_url=base).suggestions
        entry = yaml.safe_load(suggestion.as_yaml())[0]
        assert (entry["kind"], entry["feeds"], entry["doc_type"]) == (
            "feed", ["/rss/nyheter"], "press_release"
        )
        assert suggestion.rows == 2 and suggestion.samples[0] == "Budget 2027 antagen"
        apply(config, suggestion.as_yaml())

        url = f"sqlite:///{tmp_path}/t.sqlite"
        report = run_crawl_in_subprocess("exempelstad", base_url=base, database_url=url)
        assert (report.status, report.new, report.failed) == ("ok", 2, 0), report.errors
        again = CliRunner().invoke(app, ["sources", "check", "exempelstad", "--base-url", base],
                                   env={"COLUMNS": "200"})
        assert again.exit_code == 0, again.output
        assert "exempelstad (feed): healthy" in again.output
    store = Store.open(url)
    try:
        titles = sorted(d.title for d in store.documents())
    finally:
        store.close()
    assert titles == ["Budget 2027 antagen", "Ny cykelbana till stationen"]


def test_a_sitemap_in_robots_txt_is_suggested_when_no_feed_is_announced(sources_config, tmp_path):
    sources_config(BROKEN)
    write_site(tmp_path / "site", feed=False, sitemap=True)
    with ReplayServer(tmp_path / "site") as server:
        check = check_source(load_sources().get("exempelstad"),
                             base_url=server.base_url("exempelstad"))
    assert not check.healthy and check.rows == 0
    (suggestion,) = check.suggestions
    assert suggestion.found == "`Sitemap:` in https://www.exempelstad.se/robots.txt"
    entry = yaml.safe_load(suggestion.as_yaml())[0]
    assert (entry["kind"], entry["sitemaps"]) == ("sitemap", ["/sitemap.xml"])
    assert suggestion.rows == 2


def test_healthy_sources_report_what_they_found_and_exit_0():
    with ReplayServer(FIXTURES) as server:
        result = CliRunner().invoke(
            app, ["sources", "check", "consilium", "--base-url", server.base_url("consilium")],
            env={"COLUMNS": "200"},
        )
    assert result.exit_code == 0, result.output
    assert "consilium (feed): healthy" in result.output
    assert "rows: 3 (title 3, URL 3, date 3)" in result.output
    assert "Safe third country" in result.output
    assert "all 1 sources healthy" in result.output


@pytest.mark.parametrize("args", [["sources", "check", "no_such_source"],
                                  ["sources", "check", "consilium", "cor", "--base-url", "x"]])
def test_wrong_arguments_are_clear_errors(args):
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 1


def test_a_json_ld_item_list_is_suggested_as_a_listing_of_its_items(
    sources_config, tmp_path
):
    """No feed, no sitemap, but the redesigned page describes its list in JSON-LD: the
    suggestion reads the ItemList, and the pages give title and date."""
    config = sources_config(BROKEN)
    write_site(tmp_path / "site", feed=False, sitemap=False)
    listing = tmp_path / "site" / "exempelstad" / "listing.html"
    items = [{"@type": "ListItem", "position": i + 1, "url": SITE + p}
             for i, (p, *_) in enumerate(ITEMS)]
    script = json.dumps({"@context": "https://schema.org", "@type": "ItemList",
                         "itemListElement": items})
    listing.write_text(listing.read_text(encoding="utf-8").replace(
        "</head>", f'<script type="application/ld+json">{script}</script></head>'),
        encoding="utf-8")
    with ReplayServer(tmp_path / "site") as server:
        base = server.base_url("exempelstad")
        check = check_source(load_sources().get("exempelstad"), base_url=base)
        (suggestion,) = check.suggestions
        entry = yaml.safe_load(suggestion.as_yaml())[0]
        assert (entry["kind"], entry["listings"], entry["jsonld_items"]) == (
            "html_listing", ["/nyheter/"], True
        )
        assert suggestion.rows == 2
        apply(config, suggestion.as_yaml())
        url = f"sqlite:///{tmp_path}/t.sqlite"
        report = run_crawl_in_subprocess("exempelstad", base_url=base, database_url=url)
    assert (report.status, report.new) == ("ok", 2), report.errors
    store = Store.open(url)
    try:
        dated = sorted((d.title, d.published.isoformat()) for d in store.documents())
    finally:
        store.close()
    assert dated == [("Budget 2027 antagen", "2026-11-19"),
                     ("Ny cykelbana till stationen", "2026-11-10")]


def test_an_entry_point_robots_txt_disallows_is_named(sources_config, tmp_path):
    sources_config(BROKEN)
    write_site(tmp_path / "site", feed=True, sitemap=False)
    folder = tmp_path / "site" / "exempelstad"
    (folder / "robots.txt").write_text("User-agent: *\nDisallow: /nyheter/\n", encoding="utf-8")
    routes = json.loads((folder / "routes.json").read_text(encoding="utf-8"))
    routes["routes"].append({"path": "/robots.txt", "file": "robots.txt",
                             "content_type": "text/plain"})
    (folder / "routes.json").write_text(json.dumps(routes), encoding="utf-8")
    with ReplayServer(tmp_path / "site") as server:
        check = check_source(load_sources().get("exempelstad"),
                             base_url=server.base_url("exempelstad"), discover=False)
    assert not check.healthy
    assert check.problems == [
        "robots.txt disallows https://www.exempelstad.se/nyheter/: the crawl will not fetch it"
    ]
