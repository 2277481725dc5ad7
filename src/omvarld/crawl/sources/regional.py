"""Regional and local publishers with their own web sites: an HTML news listing, then each
new item's page (main text by trafilatura).

- MalmöLundregionen (malmolundregionen.se) is a WordPress site: archive rows are
  `article.post` with `h2.entry-title a`, `time.entry-date[datetime]`, `div.entry-summary`;
  the category is a class on the row (`category-remissvar` → the region's consultation
  responses, kept as reports); paging by `a.next.page-numbers`.
- Greater Copenhagen (greatercph.se) is a Drupal site: a view of `div.views-row`s with the
  date in `span.date-display-single[content]`; items are in Swedish or Danish.
- Mälardalsrådet (malardalsradet.se), the peer region: `div.news-item` rows whose dates are
  written "2026.11.13.".
- Lunds kommun (lund.se) publishes its press releases on its own site, not on Mynewsdesk:
  `li.news-list__item` rows with an ISO date, title and summary.
"""

from __future__ import annotations

from typing import ClassVar

from parsel import Selector

from omvarld.crawl.generic import HtmlListingSpider, Row


class MalmoLundregionenSpider(HtmlListingSpider):
    """MalmöLundregionen's news and consultation responses (WordPress archive)."""

    name = "malmolundregionen"
    listing_paths = ("/nyheter/",)
    row_selector = "article.post"
    link_selector = "h2.entry-title a::attr(href)"
    title_selector = "h2.entry-title a ::text"
    date_selector = "time.entry-date::attr(datetime)"
    summary_selector = "div.entry-summary ::text"
    next_page_selector = "a.next.page-numbers::attr(href)"
    doc_type = "news"
    # WordPress category (a class of the row) → document type.
    categories: ClassVar[dict[str, str]] = {"remissvar": "report", "rapporter": "report"}

    def parse_row(self, block: Selector, page_url: str) -> Row | None:
        row = super().parse_row(block, page_url)
        if row is not None:
            classes = (block.attrib.get("class") or "").split()
            for cls in classes:
                category = cls.removeprefix("category-")
                if cls.startswith("category-") and category in self.categories:
                    row.doc_type = self.categories[category]
        return row


class GreaterCopenhagenSpider(HtmlListingSpider):
    """Greater Copenhagen's news (Drupal view), Swedish and Danish."""

    name = "greater_copenhagen"
    listing_paths = ("/nyheter",)
    row_selector = "div.view-content div.views-row"
    link_selector = "div.views-field-title a::attr(href)"
    title_selector = "div.views-field-title a ::text"
    date_selector = "span.date-display-single::attr(content)"
    summary_selector = "div.views-field-body ::text"
    next_page_selector = "li.pager-next a::attr(href)"
    doc_type = "news"
    date_languages = ("da", "sv", "en")


class MalardalsradetSpider(HtmlListingSpider):
    """Mälardalsrådet's news, the peer region Malmö compares itself with."""

    name = "malardalsradet"
    listing_paths = ("/nyheter/",)
    row_selector = "section.news-list div.news-item"
    link_selector = "h3 a::attr(href)"
    title_selector = "h3 a ::text"
    date_selector = "span.date::text"
    summary_selector = "p.preamble ::text"
    next_page_selector = "a.next::attr(href)"
    doc_type = "news"


class LundsKommunSpider(HtmlListingSpider):
    """Lunds kommun's press releases on lund.se."""

    name = "lunds_kommun"
    listing_paths = ("/kommun--politik/press--och-informationsmaterial/pressmeddelanden/",)
    row_selector = "ul.news-list li.news-list__item"
    link_selector = "h2 a::attr(href)"
    title_selector = "h2 a ::text"
    date_selector = "span.news-list__date::text"
    summary_selector = "p.news-list__summary ::text"
    next_page_selector = "a.pagination__next::attr(href)"
    doc_type = "press_release"
