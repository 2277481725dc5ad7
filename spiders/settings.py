"""Scrapy settings for every omvarld crawl: polite by default.

robots.txt is obeyed, AutoThrottle adapts the pace to the server, cookies are off (public
documents need no session) and failed requests are retried twice by Scrapy's own retry
middleware. `spiders.run` adds the store URL and crawl run id, and drops the throttle's
start delay when the base URL is a local replay server.
"""

from __future__ import annotations

from omvarld.settings import PROJECT_ROOT, get_settings

_settings = get_settings()

BOT_NAME = "omvarld"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

USER_AGENT = _settings.user_agent
ROBOTSTXT_OBEY = True
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False

AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 2.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
CONCURRENT_REQUESTS_PER_DOMAIN = 4

RETRY_ENABLED = True
RETRY_TIMES = 2
# Seconds per request; the whole crawl is bounded by OMVARLD_CRAWL_TIMEOUT in spiders.run.
DOWNLOAD_TIMEOUT = min(60, _settings.crawl_timeout)

HTTPCACHE_ENABLED = _settings.http_cache
HTTPCACHE_DIR = str(PROJECT_ROOT / "data" / "httpcache")
HTTPCACHE_EXPIRATION_SECS = 24 * 3600

LOG_LEVEL = "INFO"

# REQUEST_FINGERPRINTER_IMPLEMENTATION is not set: Scrapy 2.13 deprecated the setting
# (setting it only emits a ScrapyDeprecationWarning) and the "2.7" fingerprinter it
# selected is now the only implementation.

ITEM_PIPELINES = {
    "spiders.pipelines.NormalisePipeline": 100,
    "spiders.pipelines.LanguagePipeline": 200,
    "spiders.pipelines.DedupePipeline": 300,
    "spiders.pipelines.StorePipeline": 400,
}
