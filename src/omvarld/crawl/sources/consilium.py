"""The Council of the European Union: its press releases (Council positions, general
approaches, provisional agreements with the Parliament, final adoptions).

The Council's site sits behind an anti-bot service that often refuses automated clients
(shared/SOURCES.md §1.7), which the crawl reports as an unreachable source rather than as
"no news". The listing `/en/press/press-releases/` shows the newest releases first; each
release lives at `/en/press/press-releases/{yyyy}/{mm}/{dd}/{slug}/` and its page is read by
trafilatura. The listing's selectors are the one thing to check against the live site when
the crawl reports a changed layout: they are collected here, in the class attributes.
"""

from __future__ import annotations

from omvarld.crawl.generic import HtmlListingSpider


class ConsiliumSpider(HtmlListingSpider):
    """Press releases of the Council of the EU, newest first, each release page read."""

    name = "consilium"
    listing_paths = ("/en/press/press-releases/",)
    row_selector = "li.gsc-excerpt-item"
    link_selector = "h3.gsc-excerpt-item__title a::attr(href)"
    title_selector = "h3.gsc-excerpt-item__title a ::text"
    date_selector = "time::attr(datetime)"
    summary_selector = "p.gsc-excerpt-item__description ::text"
    next_page_selector = "li.gsc-pager__next a::attr(href)"
    doc_type = "press_release"
    date_languages = ("en",)
