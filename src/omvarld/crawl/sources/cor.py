"""The European Committee of the Regions (CoR): the EU's assembly of local and regional
politicians, where Malmö's own interests (cohesion policy, housing, integration, climate
adaptation) are argued as opinions adopted in plenary.

The CoR's site is SharePoint: news items live at `/{lang}/news/Pages/{slug}.aspx` (a stored
copy of `https://cor.europa.eu/fi/news/Pages/highlights-of-the-february-plenary-session.aspx`
shows the pattern). The English news listing `/en/news/Pages/default.aspx` is read row by
row, newest first, and each new item's page by trafilatura. Rows tagged as opinions are kept
as reports (an opinion is the CoR's formal position on a Commission proposal), the others as
news.
"""

from __future__ import annotations

from parsel import Selector

from omvarld.crawl.generic import HtmlListingSpider, Row


class CorSpider(HtmlListingSpider):
    """News and adopted opinions of the European Committee of the Regions."""

    name = "cor"
    listing_paths = ("/en/news/Pages/default.aspx",)
    row_selector = "div.cor-news-list div.cor-news-item"
    link_selector = "a.cor-news-item__link::attr(href)"
    title_selector = "a.cor-news-item__link ::text"
    date_selector = "span.cor-news-item__date::text"
    summary_selector = "p.cor-news-item__summary ::text"
    next_page_selector = "a.cor-pager__next::attr(href)"
    doc_type = "news"
    date_languages = ("en",)

    def parse_row(self, block: Selector, page_url: str) -> Row | None:
        row = super().parse_row(block, page_url)
        if row is not None:
            tag = " ".join(block.css("span.cor-news-item__type ::text").getall()).lower()
            if "opinion" in tag:
                row.doc_type = "report"
        return row
