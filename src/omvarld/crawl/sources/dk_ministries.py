"""The Danish ministries nearest Malmö's six areas, as the Öresund partner publishes them:
news and press releases, one thin class per ministry over `omvarld.crawl.generic`.

| source | ministry | where | base |
| --- | --- | --- | --- |
| `dk_bm` | Beskæftigelsesministeriet | its Via Ritzau release feed (`publisherId=90520`) | feed |
| `dk_uim` | Udlændinge- og Integrationsministeriet | news archive `/nyhedsarkiv/` | HTML listing |
| `dk_trm` | Transportministeriet | news list `/nyheder/` (dates on the pages only) | HTML listing |
| `dk_kefm` | Klima-, Energi- og Forsyningsministeriet | RSS `/handlers/DynamicRss.ashx` | feed |

Danish dates ("20. november 2026", "18-11-2026", RFC 822 in feeds) go through
`omvarld.crawl.dates.parse_date` with Danish first. A høring ("… sendt i høring") is a
consultation whose deadline is its "Høringsfristen er den 27. november 2026". The
Beskæftigelsesministeriet publishes its press releases through Via Ritzau, so its
documents' URLs are on via.ritzau.dk; the publisher is still the ministry (config).

The structures read here, and the stored pages they follow, are in
`tests/fixtures/dk_*/PROVENANCE.md`.
"""

from __future__ import annotations

from omvarld.crawl.generic import FeedSpider, HtmlListingSpider

# (pattern on the title or URL path, document type); the first match wins.
TYPE_RULES_DA: tuple[tuple[str, str], ...] = (
    (r"\bhøring", "consultation"),
    (r"rapport|\banalyse\b|klimastatus|fremskrivning|\bredegørelse\b", "report"),
)


class MinistryListingSpider(HtmlListingSpider):
    """A ministry's HTML news list → its article pages."""

    name = ""
    date_languages = ("da",)
    type_rules = TYPE_RULES_DA


class MinistryFeedSpider(FeedSpider):
    """A ministry's RSS feed → its article pages."""

    name = ""
    date_languages = ("da",)
    type_rules = TYPE_RULES_DA


class BeskaeftigelsesministerietSpider(MinistryFeedSpider):
    """Beskæftigelsesministeriet: press releases from its Via Ritzau newsroom feed."""

    name = "dk_bm"
    doc_type = "press_release"
    feed_paths = ("/rss/releases/latest?publisherId=90520",)


class UdlaendingeIntegrationsministerietSpider(MinistryListingSpider):
    """Udlændinge- og Integrationsministeriet: the news archive (news, høringer)."""

    name = "dk_uim"
    listing_paths = ("/nyhedsarkiv/",)
    row_selector = "div.news-list > div.news-list__item"
    link_selector = "h3 a::attr(href)"
    title_selector = "h3 a ::text"
    date_selector = "span.news-list__date::text"  # "18-11-2026"
    summary_selector = "p ::text"


class TransportministerietSpider(MinistryListingSpider):
    """Transportministeriet: the news list; rows carry no date, the article does."""

    name = "dk_trm"
    listing_paths = ("/nyheder/",)
    row_selector = "div.news-list > div.news-list-item"
    title_selector = "h2 ::text"
    date_selector = None
    summary_selector = "p ::text"
    detail_date_selector = "p.date ::text"  # "20. november 2026"


class KlimaEnergiForsyningsministerietSpider(MinistryFeedSpider):
    """Klima-, Energi- og Forsyningsministeriet: news from the ministry's RSS feed."""

    name = "dk_kefm"
    feed_paths = ("/handlers/DynamicRss.ashx?id=76163fac-6c0a-4edb-8e6e-86a4dcf36bd4",)
