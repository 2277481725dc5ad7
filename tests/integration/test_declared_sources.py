"""A new source from YAML alone: an operator (Malmö, or another municipality with its own
list) adds an entry to sources.yaml and crawls it — no Python. A feed, an HTML listing, a
sitemap (found through robots.txt, `lastmod` as the version) and a JSON API, each crawled by
`omvarld.crawl.run` in its own process from the local replay server.

The responses are CONSTRUCTED here, in the test, for a made-up publisher "Exempelkommun";
they stand for no real site."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from omvarld.crawl.replay import ReplayServer
from omvarld.crawl.run import run_crawl_in_subprocess
from omvarld.store import Store

SITE = "https://www.exempelkommun.se"

ARTICLE = """<!DOCTYPE html><html lang="sv"><head><meta charset="utf-8">
<title>{title} - Exempelkommun</title>
<meta property="og:title" content="{title}">
<meta property="article:published_time" content="{date}T09:00:00+01:00">
<link rel="canonical" href="{url}"></head>
<body><header><a href="/">Exempelkommun</a> <a href="/kontakt">Kontakta oss</a></header>
<main><article><h1>{title}</h1><p>{text}</p><p>Kommunstyrelsen fattade beslutet på sitt
sammanträde och ärendet går nu vidare till kommunfullmäktige för slutligt beslut.</p>
</article></main><footer>Exempelkommun, 123 45 Exempelstad</footer></body></html>"""

ITEMS = [
    ("/nyheter/ny-detaljplan-for-stationsomradet", "Ny detaljplan för stationsområdet",
     "2026-11-20", "Detaljplanen ger plats för 400 bostäder och en ny skola nära stationen."),
    ("/nyheter/fler-i-arbete-genom-kommunens-jobbspar", "Fler i arbete genom kommunens jobbspår",
     "2026-11-12", "Kommunens jobbspår har gett 120 nyanlända arbete inom vård och omsorg."),
]

FEED = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>
<title>Exempelkommun</title><link>{site}/</link><description>Nyheter</description>
{items}</channel></rss>"""
FEED_ITEM = """<item><title>{title}</title><link>{url}?utm_source=rss</link>
<pubDate>{rfc}</pubDate><description>{text}</description></item>"""
LISTING = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Nyheter</title></head>
<body><main><h1>Nyheter</h1><div class="nyhetslista">{rows}</div></main></body></html>"""
LISTING_ROW = """<div class="nyhet"><a class="nyhet__lank" href="{path}">{title}</a>
<span class="nyhet__datum">{written}</span><p class="nyhet__ingress">{text}</p></div>"""
SITEMAP = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>{site}/</loc><lastmod>2026-01-01</lastmod></url>
{urls}</urlset>"""
SITEMAP_URL = "<url><loc>{url}</loc><lastmod>{date}</lastmod></url>"
MONTHS = {"11": "november"}

ENTRIES = """
- id: exempel_feed
  name: Exempelkommun – nyheter (RSS)
  publisher: Exempelkommun
  level: local
  kind: feed
  base_url: https://www.exempelkommun.se
  feeds: [/rss/nyheter]
  type_rules: [["detaljplan", decision]]
- id: exempel_listing
  name: Exempelkommun – nyheter (listing)
  publisher: Exempelkommun
  level: local
  kind: html_listing
  base_url: https://www.exempelkommun.se
  listings: [/nyheter/]
  row: div.nyhetslista div.nyhet
  link: a.nyhet__lank::attr(href)
  title: a.nyhet__lank ::text
  date: span.nyhet__datum::text
  summary: p.nyhet__ingress ::text
  date_languages: [sv]
- id: exempel_sitemap
  name: Exempelkommun – nyheter (sitemap)
  publisher: Exempelkommun
  level: local
  kind: sitemap
  base_url: https://www.exempelkommun.se
  follow: ["/nyheter/"]
- id: exempel_api
  name: Exempelkommun – nyheter (JSON)
  publisher: Exempelkommun
  level: local
  kind: json_api
  base_url: https://www.exempelkommun.se
  api: /api/nyheter
  items: [result.items]
  total: [result.total]
  fields: {url: link, title: rubrik, date: publicerad, summary: ingress}
"""


def write_fixtures(root: Path) -> None:
    """One folder per declared source, each with its routes.json, the same two articles."""
    pages = []
    for path, title, day, text in ITEMS:
        name = path.rsplit("/", 1)[1] + ".html"
        pages.append((path, name, ARTICLE.format(title=title, date=day, url=SITE + path,
                                                  text=text)))
    feed = FEED.format(site=SITE, items="".join(
        FEED_ITEM.format(title=t, url=SITE + p, text=x, rfc=f"Fri, {d[8:]} Nov 2026 09:00:00 +0100")
        for p, t, d, x in ITEMS))
    listing = LISTING.format(rows="".join(
        LISTING_ROW.format(path=p, title=t, text=x, written=f"{int(d[8:])} november 2026")
        for p, t, d, x in ITEMS))
    sitemap = SITEMAP.format(site=SITE, urls="".join(
        SITEMAP_URL.format(url=SITE + p, date=d) for p, _, d, _ in ITEMS))
    api = json.dumps({"result": {"total": 2, "items": [
        {"link": SITE + p, "rubrik": t, "publicerad": d, "ingress": x} for p, t, d, x in ITEMS]}})
    entry_points = {
        "exempel_feed": [("/rss/nyheter", "feed.xml", feed, "application/rss+xml")],
        "exempel_listing": [("/nyheter/", "listing.html", listing, "text/html; charset=utf-8")],
        "exempel_sitemap": [
            ("/robots.txt", "robots.txt", f"User-agent: *\nAllow: /\nSitemap: {SITE}/sitemap.xml\n",
             "text/plain"),
            ("/sitemap.xml", "sitemap.xml", sitemap, "application/xml"),
        ],
        "exempel_api": [("/api/nyheter", "api.json", api, "application/json")],
    }
    for source, points in entry_points.items():
        folder = root / source
        folder.mkdir(parents=True)
        routes = []
        for path, name, body, content_type in points:
            (folder / name).write_text(body, encoding="utf-8")
            routes.append({"path": path, "file": name, "content_type": content_type})
        for path, name, body in pages:
            (folder / name).write_text(body, encoding="utf-8")
            routes.append({"path": path, "file": name, "content_type": "text/html; charset=utf-8"})
        (folder / "routes.json").write_text(json.dumps({"routes": routes}), encoding="utf-8")


@pytest.mark.parametrize("source", ["exempel_feed", "exempel_listing", "exempel_sitemap",
                                    "exempel_api"])
def test_a_source_added_in_yaml_alone_is_crawled(source, sources_config, tmp_path):
    sources_config(ENTRIES)
    write_fixtures(tmp_path / "fixtures")
    url = f"sqlite:///{tmp_path}/t.sqlite"
    with ReplayServer(tmp_path / "fixtures") as server:
        first = run_crawl_in_subprocess(source, base_url=server.base_url(source), database_url=url)
        second = run_crawl_in_subprocess(source, base_url=server.base_url(source), database_url=url)
    assert (first.status, first.new, first.failed) == ("ok", 2, 0), first.errors
    assert (second.status, second.new, second.unchanged) == ("ok", 0, 2), second.errors
    store = Store.open(url)
    try:
        docs = {d.url: d for d in store.documents()}
    finally:
        store.close()
    plan = docs[SITE + ITEMS[0][0]]
    assert set(docs) == {SITE + p for p, *_ in ITEMS}
    assert plan.title == "Ny detaljplan för stationsområdet"
    assert plan.published.isoformat() == "2026-11-20"
    assert plan.publisher == "Exempelkommun" and plan.level == "local"
    assert "400 bostäder" in (plan.text + plan.summary)
    if source == "exempel_feed":
        assert plan.doc_type == "decision"  # type_rules from the YAML
