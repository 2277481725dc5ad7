"""The crawl settings, for Scrapy's own commands (see scrapy.cfg)."""

from omvarld.crawl.settings import *  # noqa: F403
