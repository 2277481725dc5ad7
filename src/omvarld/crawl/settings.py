"""Scrapy settings for every omvarld crawl: polite by default.

robots.txt is obeyed, AutoThrottle adapts the pace to the server, cookies are off (public
documents need no session) and failed requests are retried twice by Scrapy's own retry
middleware. `omvarld.crawl.run` adds the store URL and crawl run id, and drops the throttle's
start delay when the base URL is a local replay server.
"""

from __future__ import annotations

from omvarld.core.settings import PROJECT_ROOT, get_settings

_settings = get_settings()

BOT_NAME = "omvarld"
SPIDER_MODULES = ["omvarld.crawl.sources"]
NEWSPIDER_MODULE = "omvarld.crawl.sources"

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
# Retries wait 1 s, 2 s, … (spiders.middlewares.BackoffMiddleware); Scrapy alone retries at once.
RETRY_BACKOFF_BASE = _settings.retry_backoff
RETRY_BACKOFF_MAX = 30.0
DOWNLOADER_MIDDLEWARES = {
    "omvarld.crawl.middlewares.BackoffMiddleware": 560,
    # A redirect loop is a reported failure, not a silently dropped duplicate.
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "omvarld.crawl.middlewares.LoopSafeRedirectMiddleware": 600,
}

# Hostile answers. No policy page or listing comes near 10 MiB: a larger body is refused while
# it downloads (the request fails, is reported, and the crawl goes on); PDFs have their own
# limit per request (OMVARLD_PDF_MAX_BYTES, crawl/pdf.py). Five redirects are enough for
# any real move of a page; a redirect loop ends there as a failed, reported request.
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
REDIRECT_MAX_TIMES = 5
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
    "omvarld.crawl.pipelines.NormalisePipeline": 100,
    "omvarld.crawl.pipelines.LanguagePipeline": 200,
    "omvarld.crawl.pipelines.ReadablePipeline": 250,
    "omvarld.crawl.pipelines.DedupePipeline": 300,
    "omvarld.crawl.pipelines.StorePipeline": 400,
}
