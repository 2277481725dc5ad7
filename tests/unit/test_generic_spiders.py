"""The shared bases in spiders/generic.py, on small WRITTEN inputs that show one behaviour
each (the real sources' fixtures are tested per source): the JSON API base's paging, the feed
base on RSS and Atom, the listing base's canonical URL, dates and attachments, URL mapping
between a replay server and the publisher, and the dates module's Danish and English.

Test spiders borrow the identity (publisher, level, base URL) of `malardalsradet` from
config/sources.yaml; only their class attributes differ."""

from __future__ import annotations

import json
from datetime import date
from typing import Any, ClassVar

import pytest
from scrapy import Request
from scrapy.http import TextResponse

from conftest import fixture_response
from omvarld.core.model import Document
from omvarld.crawl.base import LayoutChanged
from omvarld.crawl.dates import check_published, find_written_date, parse_date
from omvarld.crawl.generic import (
    FeedSpider,
    HtmlListingSpider,
    JsonApiSpider,
    Row,
    dig,
    parse_attachment_links,
    parse_canonical,
    strip_tags,
    without_tracking,
)

BASE = "http://127.0.0.1:9/malardalsradet"
PUBLIC = "https://www.malardalsradet.se"


class ApiSpider(JsonApiSpider):
    name = "test_api"
    api_path = "/api/nyheter"
    items_path = "result.items"
    total_path = "result.total"
    page_size = 2
    page_size_param = "limit"

    def row_from_item(self, item: dict[str, Any]) -> Row | None:
        if not item.get("url"):
            return None
        return Row(
            url=item["url"],
            title=item["title"],
            published=parse_date(item.get("date")),
            summary=item.get("ingress", ""),
            text=item.get("body", ""),
            version=item.get("modified"),
        )


class OffsetApiSpider(ApiSpider):
    name = "test_offset_api"
    page_param = "offset"
    offset_paging = True
    next_path = "links.next"


def api_spider(cls=ApiSpider, **kwargs) -> JsonApiSpider:
    return cls(source_id="malardalsradet", base_url=BASE, today=date(2026, 11, 23), **kwargs)


def item(n: int, **extra) -> dict[str, Any]:
    return {
        "url": f"{PUBLIC}/nyheter/{n}/",
        "title": f"Nyhet {n} om regionaltåg",
        "date": f"2026-11-{10 + n:02d}",
        "ingress": "Pendlarna måste prioriteras.",
        "body": "Mälarbanan behöver dubbelspår.",
        "modified": f"2026-11-{10 + n:02d}T08:00",
        **extra,
    }


def api_response(spider, page: int, data: Any):
    return fixture_response("x.json", spider.api_url(page), body=json.dumps(data).encode())


def test_api_url_counts_pages_with_the_page_size():
    assert api_spider().api_url(2) == f"{BASE}/api/nyheter?limit=2&page=2"
    assert api_spider(OffsetApiSpider).api_url(3) == f"{BASE}/api/nyheter?limit=2&offset=4"


def test_api_items_become_documents_without_a_detail_request():
    spider = api_spider()
    data = {"result": {"total": 2, "items": [item(1), item(2)]}}
    docs = list(spider.parse_api(api_response(spider, 1, data), page=1))
    assert [(d.url, d.published, d.source_version) for d in docs] == [
        (f"{PUBLIC}/nyheter/1/", date(2026, 11, 11), "2026-11-11T08:00"),
        (f"{PUBLIC}/nyheter/2/", date(2026, 11, 12), "2026-11-12T08:00"),
    ]
    assert docs[0].text == "Mälarbanan behöver dubbelspår." and docs[0].doc_type == "news"
    assert (docs[0].publisher, docs[0].level) == ("Mälardalsrådet", "regional")


def test_api_pages_while_the_total_is_not_reached():
    spider = api_spider()
    data = {"result": {"total": 5, "items": [item(1), item(2)]}}
    out = list(spider.parse_api(api_response(spider, 1, data), page=1))
    (next_page,) = [r for r in out if isinstance(r, Request)]
    assert next_page.url == f"{BASE}/api/nyheter?limit=2&page=2"


def test_api_follows_a_next_link_on_the_local_server():
    spider = api_spider(OffsetApiSpider)
    data = {"result": {"items": [item(1)]}, "links": {"next": f"{PUBLIC}/api/nyheter?offset=2"}}
    out = list(spider.parse_api(api_response(spider, 1, data), page=1))
    assert [r.url for r in out if isinstance(r, Request)] == [f"{BASE}/api/nyheter?offset=2"]


def test_api_stops_paging_at_a_stored_item(store):
    spider = api_spider(store=store)
    store.save_document(
        spider.make_document(url=f"{PUBLIC}/nyheter/2/", title="Nyhet 2 om regionaltåg")
    )
    data = {"result": {"total": 50, "items": [item(1), item(2, modified=None)]}}
    out = list(spider.parse_api(api_response(spider, 1, data), page=1))
    assert [d.url for d in out] == [f"{PUBLIC}/nyheter/1/"]
    assert spider.report.unchanged == 1


def test_api_item_with_a_new_version_is_fetched_again(store):
    spider = api_spider(store=store)
    old = spider.make_document(url=f"{PUBLIC}/nyheter/1/", title="t", source_version="2026-11-01")
    store.save_document(old)
    data = {"result": {"total": 1, "items": [item(1)]}}
    assert [d.url for d in spider.parse_api(api_response(spider, 1, data), page=1)] == [
        f"{PUBLIC}/nyheter/1/"
    ]


def test_api_without_its_items_list_is_a_layout_change():
    spider = api_spider()
    with pytest.raises(LayoutChanged, match=r"no `result\.items` list"):
        list(spider.parse_api(api_response(spider, 1, {"data": []}), page=1))


def test_api_reporting_hits_but_listing_none_is_a_layout_change():
    spider = api_spider()
    with pytest.raises(LayoutChanged, match="structure changed"):
        list(
            spider.parse_api(api_response(spider, 1, {"result": {"total": 7, "items": []}}), page=1)
        )


def test_api_answering_html_is_a_layout_change():
    spider = api_spider()
    response = fixture_response("x.json", spider.api_url(1), body=b"<!DOCTYPE html><p>Logga in</p>")
    with pytest.raises(LayoutChanged, match="answered HTML where JSON was expected"):
        list(spider.parse_api(response, page=1))


def test_api_truncated_json_is_a_reported_failure():
    spider = api_spider()
    response = fixture_response("x.json", spider.api_url(1), body=b'{"result": {"items": [')
    assert list(spider.parse_api(response, page=1)) == []
    assert "invalid JSON" in spider.report.errors[0]


# -- feeds -----------------------------------------------------------------------------------


class AtomSpider(FeedSpider):
    name = "test_atom"
    feed_paths = ("/feed.atom",)
    follow_detail = False
    page_param = "page"
    max_pages = 2


ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Mälardalsrådet</title>
  <entry>
    <title>Ny systemanalys för Stockholm-Mälarregionen</title>
    <link href="https://www.malardalsradet.se/nyheter/systemanalys/?utm_source=atom"/>
    <id>urn:uuid:1</id>
    <updated>2026-11-20T10:00:00+01:00</updated>
    <summary type="html">&lt;p&gt;Länen är överens om &lt;b&gt;gemensamma&lt;/b&gt;
      prioriteringar.&lt;/p&gt;</summary>
    <content type="html">&lt;p&gt;Dubbelspår på Mälarbanan och Ostkustbanan.&lt;/p&gt;</content>
  </entry>
  <entry><title>Utan länk</title><id>urn:uuid:2</id></entry>
</feed>
""".encode()


def atom_spider(**kwargs) -> AtomSpider:
    return AtomSpider(source_id="malardalsradet", base_url=BASE, today=date(2026, 11, 23), **kwargs)


def test_atom_entries_are_read_with_their_content_as_text():
    spider = atom_spider()
    out = list(
        spider.parse_feed(
            fixture_response("f.xml", f"{BASE}/feed.atom", body=ATOM),
            feed=f"{BASE}/feed.atom",
            page=1,
        )
    )
    docs = [d for d in out if isinstance(d, Document)]
    (doc,) = docs
    assert doc.url == f"{PUBLIC}/nyheter/systemanalys/"
    assert doc.published == date(2026, 11, 20)
    assert doc.summary == "Länen är överens om gemensamma prioriteringar."
    assert doc.text == "Dubbelspår på Mälarbanan och Ostkustbanan."


def test_a_feed_with_only_new_items_asks_for_its_next_page():
    spider = atom_spider()
    out = list(
        spider.parse_feed(
            fixture_response("f.xml", f"{BASE}/feed.atom", body=ATOM),
            feed=f"{BASE}/feed.atom",
            page=1,
        )
    )
    assert [r.url for r in out if isinstance(r, Request)] == [f"{BASE}/feed.atom?page=2"]


def test_feed_paging_stops_at_max_pages():
    spider = atom_spider()
    out = list(
        spider.parse_feed(
            fixture_response("f.xml", f"{BASE}/feed.atom?page=2", body=ATOM),
            feed=f"{BASE}/feed.atom",
            page=2,
        )
    )
    assert not [r for r in out if isinstance(r, Request)]


# -- listing pages ---------------------------------------------------------------------------


class ListSpider(HtmlListingSpider):
    name = "test_list"
    listing_paths = ("/nyheter/",)
    row_selector = "li"
    date_selector = "span::text"
    doc_type = "news"
    deadlines: ClassVar[bool] = True

    def row_doc_type(self, row: Row) -> str:
        return "remiss" if "remiss" in row.title.lower() else self.doc_type


DETAIL = """<html lang="sv"><head>
<meta property="og:url" content="https://www.malardalsradet.se/nyheter/remiss-regional-plan/">
<meta name="description" content="Mälardalsrådet svarar på remissen.">
</head><body><nav>Meny Om oss Kontakt</nav><main><article>
<h1>Remiss: regional plan för transportinfrastrukturen</h1>
<p>Region Stockholm har skickat förslaget till regional plan för transportinfrastrukturen på remiss
till kommunerna och Mälardalsrådet. Planen omfattar investeringar i spårväg, busskörfält och
cykelvägar under perioden 2026–2037.</p>
<p>Remissvaren ska ha kommit in till Region Stockholm senast den 15 januari 2027.</p>
<p>Läs <a href="/globalassets/remiss-regional-plan.pdf?v=2">remissen (pdf)</a> och
<a href="https://www.malardalsradet.se/bilagor/karta.xlsx">kartbilagan</a>.</p>
</article></main><footer>Mälardalsrådet, Centralplan 3</footer></body></html>""".encode()


def remiss_row(**fields: Any) -> Row:
    return Row(
        url=f"{PUBLIC}/nyheter/remiss-regional-plan/?utm_medium=mail",
        title="Remiss: regional plan",
        published=date(2026, 11, 19),
        **fields,
    )


def remiss_detail(row: Row) -> Request:
    """DETAIL read for `row`: a remiss, so its PDF is asked for before the document is
    yielded (the document rides in the request)."""
    spider = ListSpider(source_id="malardalsradet", base_url=BASE, today=date(2026, 11, 23))
    (pdf_request,) = spider.parse_detail(
        fixture_response("d.html", f"{BASE}/nyheter/remiss-regional-plan/", body=DETAIL), row=row
    )
    return pdf_request


def test_detail_page_fields_and_remiss_deadline():
    pdf_request = remiss_detail(remiss_row())
    assert pdf_request.url == f"{BASE}/globalassets/remiss-regional-plan.pdf?v=2"
    doc = pdf_request.cb_kwargs["doc"]
    assert doc.url == f"{PUBLIC}/nyheter/remiss-regional-plan/"
    assert doc.title == "Remiss: regional plan för transportinfrastrukturen"
    assert (doc.doc_type, doc.deadline, doc.published) == (
        "remiss",
        date(2027, 1, 15),
        date(2026, 11, 19),
    )
    assert doc.summary == "Mälardalsrådet svarar på remissen."
    assert doc.attachments == [
        f"{PUBLIC}/globalassets/remiss-regional-plan.pdf?v=2",
        f"{PUBLIC}/bilagor/karta.xlsx",
    ]
    assert "Meny" not in doc.text and "Centralplan" not in doc.text


def test_canonical_link_wins_over_og_url_and_is_made_absolute():
    from parsel import Selector

    page = Selector(
        text='<link rel="canonical" href="/a/"><meta property="og:url" content="https://x.se/b/">'
    )
    assert (
        parse_canonical(page, "https://www.malardalsradet.se/c/")
        == "https://www.malardalsradet.se/a/"
    )
    assert parse_canonical(Selector(text="<p>x</p>"), "https://x.se/c/") == "https://x.se/c/"


def test_attachment_links_are_files_only():
    from parsel import Selector

    page = Selector(text='<a href="a.pdf">a</a><a href="/b/">b</a><a href="c.DOCX">c</a>')
    assert parse_attachment_links(page, "https://x.se/n/") == [
        "https://x.se/n/a.pdf",
        "https://x.se/n/c.DOCX",
    ]


# -- helpers ---------------------------------------------------------------------------------


def test_url_mapping_between_replay_and_publisher():
    spider = ListSpider(source_id="malardalsradet", base_url=BASE)
    assert spider.to_local(f"{PUBLIC}/nyheter/x/?a=1") == f"{BASE}/nyheter/x/?a=1"
    assert spider.to_public(f"{BASE}/nyheter/x/") == f"{PUBLIC}/nyheter/x/"
    assert spider.to_local("https://cdn.example.org/f/a.pdf") == f"{BASE}/f/a.pdf"
    live = ListSpider(source_id="malardalsradet")
    assert live.to_local(f"{PUBLIC}/nyheter/x/") == f"{PUBLIC}/nyheter/x/"


def test_small_helpers():
    assert without_tracking("https://x.se/a?id=3&utm_source=rss#top") == "https://x.se/a?id=3"
    assert strip_tags("<p>Bostäder &amp; klimat</p>") == "Bostäder & klimat"
    assert dig({"a": {"b": [1, {"c": 2}]}}, "a.b.1.c") == 2 and dig({"a": 1}, "a.b") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("22. november 2026", date(2026, 11, 22)),
        ("3. marts 2025", date(2025, 3, 3)),
        ("22 november 2026", date(2026, 11, 22)),
        ("November 22, 2026", date(2026, 11, 22)),
        ("Tue, 22 Nov 2026 10:00:00 +0100", date(2026, 11, 22)),
        ("2017.03.27.", date(2017, 3, 27)),
        ("2026-11-22T09:00:00+01:00", date(2026, 11, 22)),
        ("Publicerad: 2026-10-28", date(2026, 10, 28)),
        ("Uppdaterad 2026-10-30, publicerad 28 oktober 2026", date(2026, 10, 30)),
        ("november 2026", None),
        ("igår", None),
        ("", None),
    ],
)
def test_parse_date_in_swedish_danish_and_english(text, expected):
    assert parse_date(text) == expected


# -- what a source declares instead of overriding --------------------------------------------


class CitedApiSpider(ApiSpider):
    """Items of an API that changed shape: the newer `page.content`, else `result.items`."""

    name = "test_cited_api"
    items_path = ("page.content", "result.items")
    total_path = ("page.totalElements", "result.total")

    def row_from_item(self, item: dict[str, Any]) -> Row | None:
        row = super().row_from_item(item)
        if row is not None:
            row.identifier = item.get("ref")
        return row


def test_row_identifier_becomes_the_documents_identifier():
    spider = api_spider(CitedApiSpider)
    data = {"result": {"total": 1, "items": [item(1, ref="COM/2026/12")]}}
    (doc,) = spider.parse_api(api_response(spider, 1, data), page=1)
    assert doc.identifier == "COM/2026/12"


def test_row_identifier_reaches_a_document_read_from_its_detail_page():
    request = remiss_detail(remiss_row(identifier="Dnr 2026/0412"))
    assert request.cb_kwargs["doc"].identifier == "Dnr 2026/0412"


def test_items_path_falls_back_through_the_shapes_an_api_has_had():
    spider = api_spider(CitedApiSpider)
    newer = {"page": {"totalElements": 1, "content": [item(2)]}}
    older = {"result": {"total": 1, "items": [item(1)]}}
    assert [d.url for d in spider.parse_api(api_response(spider, 1, newer), page=1)] == [
        f"{PUBLIC}/nyheter/2/"
    ]
    assert [d.url for d in spider.parse_api(api_response(spider, 1, older), page=1)] == [
        f"{PUBLIC}/nyheter/1/"
    ]


def test_total_path_fallback_drives_paging():
    spider = api_spider(CitedApiSpider)
    data = {"page": {"totalElements": 5, "content": [item(1), item(2)]}}
    out = list(spider.parse_api(api_response(spider, 1, data), page=1))
    assert [r.url for r in out if isinstance(r, Request)] == [f"{BASE}/api/nyheter?limit=2&page=2"]


def test_no_list_at_any_items_path_names_every_path():
    spider = api_spider(CitedApiSpider)
    with pytest.raises(LayoutChanged, match=r"no `page\.content` or `result\.items` list"):
        list(spider.parse_api(api_response(spider, 1, {"results": []}), page=1))


def test_a_listing_that_leaves_out_an_empty_items_list_is_read_by_its_count():
    spider = api_spider(CitedApiSpider)
    assert list(spider.parse_api(api_response(spider, 1, {"page": {"totalElements": 0}}), 1)) == []
    with pytest.raises(LayoutChanged, match="structure changed"):
        list(spider.parse_api(api_response(spider, 1, {"page": {"totalElements": 3}}), page=1))


@pytest.mark.parametrize(
    ("feed", "expected"),
    [
        # the press corner's odd query: only the page value changes, nothing is re-encoded
        (
            f"{BASE}/api/rss?search?language=en&text=&pagesize=50&page=1",
            f"{BASE}/api/rss?search?language=en&text=&pagesize=50&page=2",
        ),
        (f"{BASE}/feed.atom?page=1&lang=sv", f"{BASE}/feed.atom?page=2&lang=sv"),
        (f"{BASE}/feed.atom?lang=sv", f"{BASE}/feed.atom?lang=sv&page=2"),
        (f"{BASE}/feed.atom", f"{BASE}/feed.atom?page=2"),
    ],
)
def test_page_url_edits_the_page_parameter_in_place(feed, expected):
    assert atom_spider().page_url(feed, 2) == expected


class RuledListSpider(HtmlListingSpider):
    name = "test_ruled_list"
    listing_paths = ("/nyheter/",)
    row_selector = "li"
    doc_type = "press_release"
    type_rules = ((r"\bremiss(?!var)|/remisser/", "remiss"), (r"rapport", "report"))
    detail_date_selector = "p.page-info ::text"


def ruled_spider() -> RuledListSpider:
    return RuledListSpider(source_id="malardalsradet", base_url=BASE, today=date(2026, 11, 23))


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (Row(url=f"{PUBLIC}/nyheter/a/", title="Remiss: Regional plan"), "remiss"),
        (Row(url=f"{PUBLIC}/remisser/b/", title="Regional plan"), "remiss"),
        (Row(url=f"{PUBLIC}/nyheter/c/", title="Remissvar om regional plan"), "press_release"),
        (Row(url=f"{PUBLIC}/nyheter/d/", title="Ny rapport om pendling"), "report"),
        (Row(url=f"{PUBLIC}/nyheter/e/", title="Remiss och rapport"), "remiss"),  # first rule
        (Row(url=f"{PUBLIC}/nyheter/f/", title="Remiss", doc_type="decision"), "decision"),
    ],
)
def test_type_rules_type_a_row_by_its_title_or_url(row, expected):
    assert ruled_spider().row_doc_type(row) == expected


DATED_PAGE = """<html lang="sv"><head>
<meta property="article:published_time" content="2026-11-20T08:00:00+01:00">
</head><body><main><article><h1>Ny rapport om pendling i Mälardalen</h1>
<p class="page-info">Publicerad: 2026-10-28</p>
<p>Pendlingen mellan länen har ökat under året, visar rapporten som Mälardalsrådet tagit fram
tillsammans med regionerna. Tågtrafiken står för den största ökningen.</p>
</article></main></body></html>""".encode()


def dated_document(spider: HtmlListingSpider, row: Row) -> Document:
    response = fixture_response("d.html", f"{BASE}/nyheter/rapport/", body=DATED_PAGE)
    (doc,) = spider.parse_detail(response, row=row)
    return doc


def test_detail_date_selector_dates_a_row_the_listing_left_undated():
    doc = dated_document(ruled_spider(), Row(url=f"{PUBLIC}/nyheter/rapport/"))
    assert (doc.published, doc.doc_type) == (date(2026, 10, 28), "report")


def test_without_detail_date_selector_the_page_metadata_dates_it():
    doc = dated_document(
        ListSpider(source_id="malardalsradet", base_url=BASE), Row(url=f"{PUBLIC}/nyheter/rapport/")
    )
    assert doc.published == date(2026, 11, 20)


def test_a_listing_date_wins_over_the_detail_date_selector():
    row = Row(url=f"{PUBLIC}/nyheter/rapport/", published=date(2026, 10, 27))
    assert dated_document(ruled_spider(), row).published == date(2026, 10, 27)


# -- the crawl's status ------------------------------------------------------------------------


def test_a_crawl_in_which_nothing_was_answered_nor_failed_is_failed():
    report = ruled_spider().final_report("finished")
    assert report.status == "failed"
    assert report.errors == [
        "malardalsradet: no page of http://127.0.0.1:9/malardalsradet was answered — every "
        "request was dropped before an answer, none failed"
    ]


def test_a_redirect_loop_is_reported_once_as_unreachable():
    """The loop middleware fails the request: counted as failed, not as unanswered."""
    spider = ruled_spider()
    spider.requests_failed = 1
    report = spider.final_report("finished")
    assert report.status == "failed"
    assert len(report.errors) == 1 and "source unreachable" in report.errors[0]


def test_a_crawl_stopped_early_with_nothing_answered_names_only_the_stop():
    report = ruled_spider().final_report("shutdown")
    assert report.status == "failed"
    assert report.errors == ["malardalsradet: crawl stopped early (shutdown)"]


def test_a_crawl_with_answered_pages_and_no_news_is_ok():
    spider = ruled_spider()
    spider.responses_ok = 1
    report = spider.final_report("finished")
    assert (report.status, report.errors) == ("ok", [])


def test_find_written_date_in_running_text():
    assert find_written_date("Publiceret mandag den 3. marts 2025 kl. 10") == date(2025, 3, 3)


def test_check_published_drops_future_dates_with_a_reason():
    today = date(2026, 11, 23)
    assert check_published(date(2026, 11, 24), today) == (date(2026, 11, 24), None)
    assert check_published(date(2062, 11, 23), today) == (
        None,
        "publication date 2062-11-23 is in the future; stored without a date",
    )


# -- the sitemap kind ---------------------------------------------------------------------

SITEMAP_INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>https://www.malardalsradet.se/sitemap-nyheter.xml</loc></sitemap>
</sitemapindex>"""
SITEMAP_URLS = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>https://www.malardalsradet.se/</loc><lastmod>2026-11-20</lastmod></url>
<url><loc>https://www.malardalsradet.se/nyheter/ny-plan</loc><lastmod>2026-11-18</lastmod></url>
<url><loc>https://www.malardalsradet.se/nyheter/gammal</loc><lastmod>2024-01-02</lastmod></url>
<url><loc>https://www.malardalsradet.se/nyheter/utan-datum</loc></url>
</urlset>"""
SITEMAP_SOURCE = """
- id: sitemap_kalla
  name: En sitemap
  publisher: Mälardalsrådet
  level: regional
  kind: sitemap
  base_url: https://www.malardalsradet.se
  sitemaps: [/sitemap.xml]
  follow: ["/nyheter/"]
  since_days: 90
"""


def sitemap_spider(sources_config):
    from factories import source_spider

    sources_config(SITEMAP_SOURCE)
    return source_spider("sitemap_kalla")(base_url=BASE, today=date(2026, 11, 23))


def test_a_sitemap_index_leads_to_its_sitemaps(sources_config):
    spider = sitemap_spider(sources_config)
    response = TextResponse(url=f"{BASE}/sitemap.xml", body=SITEMAP_INDEX, encoding="utf-8")
    (request,) = spider.parse_sitemap(response, depth=0)
    assert request.url == f"{BASE}/sitemap-nyheter.xml" and request.cb_kwargs == {"depth": 1}


def test_sitemap_urls_are_followed_by_pattern_and_age_with_lastmod_as_version(sources_config):
    spider = sitemap_spider(sources_config)
    response = TextResponse(url=f"{BASE}/sitemap-nyheter.xml", body=SITEMAP_URLS,
                            encoding="utf-8")
    rows = [r.cb_kwargs["row"] for r in spider.parse_sitemap(response, depth=1)]
    # the home page does not match `follow`; the 2024 entry is older than since_days
    assert [(r.url, r.version) for r in rows] == [
        ("https://www.malardalsradet.se/nyheter/ny-plan", "2026-11-18"),
        ("https://www.malardalsradet.se/nyheter/utan-datum", None),
    ]


def test_a_sitemap_that_is_not_xml_is_a_layout_change(sources_config):
    spider = sitemap_spider(sources_config)
    response = TextResponse(url=f"{BASE}/sitemap.xml", body=b"<html><body>404</body></html>",
                            encoding="utf-8")
    with pytest.raises(LayoutChanged):
        list(spider.parse_sitemap(response, depth=0))
