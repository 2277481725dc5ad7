"""Scrapy's project module: `scrapy list` and `scrapy crawl ID` in a checkout find the crawl
settings here. The spiders themselves live in `omvarld.crawl` (the generic kinds) and
`omvarld.crawl.sources` (the API spiders)."""
