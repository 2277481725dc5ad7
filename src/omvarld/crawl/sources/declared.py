"""The spiders of the declared kinds: a source of kind `feed`, `sitemap`, `html_listing` or
`json_api` in `config/sources.yaml` is read by one of these, configured by its entry alone.

`spider_class(source)` is the class that reads a source, whatever its kind (a named
spider's class for kind `spider`).
"""

from __future__ import annotations

from omvarld.config.load import Source, load_sources
from omvarld.crawl.base import OmvarldSpider
from omvarld.crawl.generic import FeedSpider, HtmlListingSpider, JsonApiSpider, SitemapSpider


class DeclaredFeedSpider(FeedSpider):
    """A source of kind `feed`."""

    name = "feed"
    declared_kind = "feed"


class DeclaredSitemapSpider(SitemapSpider):
    """A source of kind `sitemap`."""

    name = "sitemap"
    declared_kind = "sitemap"


class DeclaredListingSpider(HtmlListingSpider):
    """A source of kind `html_listing`."""

    name = "html_listing"
    declared_kind = "html_listing"


class DeclaredJsonApiSpider(JsonApiSpider):
    """A source of kind `json_api`."""

    name = "json_api"
    declared_kind = "json_api"


def spider_class(source: Source | str) -> type[OmvarldSpider]:
    """The spider class that reads `source` (a `Source` or a source id)."""
    from scrapy.settings import Settings
    from scrapy.spiderloader import SpiderLoader

    if isinstance(source, str):
        source = load_sources().get(source)
    loader = SpiderLoader.from_settings(Settings({"SPIDER_MODULES": ["omvarld.crawl.sources"]}))
    cls: type[OmvarldSpider] = loader.load(source.spider)
    return cls
