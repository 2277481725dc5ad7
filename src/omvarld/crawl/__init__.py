"""Gathering documents: the spiders (generic kinds and the API spiders in `sources`), their
pipelines and the crawl run."""
