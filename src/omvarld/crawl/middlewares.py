"""Downloader middlewares: retries with back-off, redirects that cannot loop silently.

**Back-off.** A server that answers 503 gets time to recover.

Scrapy's `RetryMiddleware` re-schedules a failed request at once (`retry_times` in its meta
counts the attempts); against an overloaded publisher an immediate retry fails the same way
and adds to the load. `BackoffMiddleware` sits on the request path and holds back every retry
for `RETRY_BACKOFF_BASE * 2 ** (attempt - 1)` seconds (capped at `RETRY_BACKOFF_MAX`):
1 s, 2 s, 4 s … by default. The first attempt is never delayed, and the wait is asynchronous,
so other requests of the crawl go on meanwhile.

**Redirect loops.** Scrapy's `RedirectMiddleware` keeps a redirect subject to the duplicate
filter, so a page that redirects back to a URL already fetched (A → B → A) is dropped without
a word — the document silently never arrives. `LoopSafeRedirectMiddleware` replaces it: a
redirect to a URL already in the request's chain fails the request at once as a "redirect
loop" (reported by the spider's errback with the chain), and every other redirect bypasses the
duplicate filter, so `REDIRECT_MAX_TIMES` is what bounds a long chain.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.settings import BaseSettings
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import task

log = logging.getLogger(__name__)

WAITED = "omvarld_backoff_waited"


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """Seconds to wait before retry number `attempt` (1, 2, …)."""
    if attempt < 1 or base <= 0:
        return 0.0
    return min(cap, base * 2 ** (attempt - 1))


class BackoffMiddleware:
    """Delay retried requests exponentially (see the module docstring)."""

    def __init__(self, settings: BaseSettings) -> None:
        self.base = settings.getfloat("RETRY_BACKOFF_BASE", 1.0)
        self.cap = settings.getfloat("RETRY_BACKOFF_MAX", 30.0)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffMiddleware:
        return cls(crawler.settings)

    async def process_request(self, request: Request, spider: Spider) -> None:
        attempt = int(request.meta.get("retry_times", 0))
        # The retry copies the meta of the attempt before: remember which attempt waited.
        if attempt == 0 or request.meta.get(WAITED) == attempt:
            return None
        request.meta[WAITED] = attempt
        delay = backoff_delay(attempt, self.base, self.cap)
        if delay > 0:
            spider.logger.info("retry %d of %s in %.1f s", attempt, request.url, delay)
            from twisted.internet import reactor

            await maybe_deferred_to_future(task.deferLater(reactor, delay, lambda: None))
        return None


class LoopSafeRedirectMiddleware(RedirectMiddleware):
    """`RedirectMiddleware` that reports loops (see the module docstring)."""

    def _redirect(
        self, redirected: Request, request: Request, spider: Spider, reason: Any
    ) -> Request:
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if redirected.url in chain:
            raise IgnoreRequest(f"redirect loop: {' → '.join([*chain, redirected.url])}")
        redirected = super()._redirect(redirected, request, spider, reason)
        redirected.dont_filter = True
        return redirected
