"""SKR and the national agencies nearest Malmö's six areas: news, press releases, reports
and remisser, one thin class per publisher over the shared bases in `omvarld.crawl.generic`.

| source | where | base |
| --- | --- | --- |
| SKR | news list `/tjanster/press/nyheter.7885.html` | HTML listing |
| Arbetsförmedlingen | press releases, paged by `pageIndex` | HTML listing |
| Migrationsverket | `Pressrum/Nyhetsarkiv.html` | HTML listing |
| Skolverket | the year's news archive | HTML listing |
| Trafikverket | county news for Skåne | HTML listing |
| Boverket | news and remisser ("Svar senast …" → deadline) | HTML listing |
| Naturvårdsverket | RSS `/rss/nyheter/` | feed |

What the listings alone cannot say is declared here, with the bases' `type_rules` and
`detail_date_selector`:

- **document type** from the title and URL (`TYPE_RULES_SV`): a "Remiss: …" is a remiss,
  a granskning or samråd a consultation, a rapport, prognos, enkät or the
  Arbetsmarknadsutsikterna a report; anything else is the class's own type (news, or
  press release where the publisher calls it that). A remiss or consultation gets its
  response deadline from its text (`omvarld.crawl.dates.parse_remiss_deadline`).
- **publication date from the detail page** where a listing row has none (Skolverket lists
  some news without a date): `detail_date_selector`, read as an ISO date or a written one.

Every structure these classes read is documented, with the stored page it follows, in
`tests/fixtures/<source>/PROVENANCE.md`.
"""

from __future__ import annotations

from omvarld.crawl.generic import FeedSpider, HtmlListingSpider

# (pattern on the title or URL path, document type); the first match wins.
TYPE_RULES_SV: tuple[tuple[str, str], ...] = (
    # "Remiss: Förslag till …", but not an agency's own "remissvar" on someone else's
    (r"\bremiss(?!var)|/remisser/", "remiss"),
    (r"\bgranskning\b|\bsamråd\b", "consultation"),
    (r"rapport|\bprognos\b|enkät|arbetsmarknadsutsikter|lägesbedömning", "report"),
)


class AgencyListingSpider(HtmlListingSpider):
    """An agency's HTML news listing → its article pages."""

    name = ""
    date_languages = ("sv",)
    type_rules = TYPE_RULES_SV


class AgencyFeedSpider(FeedSpider):
    """An agency's RSS feed → its article pages."""

    name = ""
    date_languages = ("sv",)
    type_rules = TYPE_RULES_SV


class SkrSpider(AgencyListingSpider):
    """SKR (Sveriges Kommuner och Regioner): news, press releases and debate articles."""

    name = "skr"
    listing_paths = ("/tjanster/press/nyheter.7885.html",)
    row_selector = "ul.news-list > li"
    link_selector = "a.news-list__link::attr(href)"
    title_selector = "h2 ::text"
    date_selector = "time::attr(datetime)"
    summary_selector = "p.news-list__intro ::text"


class ArbetsformedlingenSpider(AgencyListingSpider):
    """Arbetsförmedlingen: national and regional press releases, newest first, paged."""

    name = "arbetsformedlingen"
    doc_type = "press_release"
    listing_paths = ("/om-oss/press/pressmeddelanden?pageIndex=1&year=0&uniqueIdentifier=Riket",)
    row_selector = "ul.press-list > li"
    title_selector = "h3 ::text"
    # "Pressmeddelande, 17 november 2026"
    date_selector = "span.press-list__type::text"
    summary_selector = "p.press-list__preamble ::text"
    next_page_selector = "a.pagination__next::attr(href)"


class MigrationsverketSpider(AgencyListingSpider):
    """Migrationsverket: the press room's news archive (news, forecasts)."""

    name = "migrationsverket"
    listing_paths = ("/Om-Migrationsverket/Pressrum/Nyhetsarkiv.html",)
    row_selector = "ul.sv-channel > li"
    link_selector = "h2 a::attr(href)"
    title_selector = "h2 a ::text"
    date_selector = "p.date::text"
    summary_selector = "p.summary ::text"


class SkolverketSpider(AgencyListingSpider):
    """Skolverket: the year's news archive; undated rows are dated from their page."""

    name = "skolverket"
    listing_paths = ("/skolutveckling/nyhetsarkiv/nyheter-2026/",)
    row_selector = "ul.news-list > li"
    link_selector = "h2 a::attr(href)"
    title_selector = "h2 a ::text"
    date_selector = "p.news-date::text"
    summary_selector = "p:not(.news-date) ::text"
    detail_date_selector = "p.page-info ::text"


class TrafikverketSpider(AgencyListingSpider):
    """Trafikverket: county news for Skåne (plans, studies, granskningar)."""

    name = "trafikverket"
    listing_paths = ("/om-oss/nyheter/lansnyheter/skane/",)
    row_selector = "div.news-list > article.news-item"
    link_selector = "h2 a::attr(href)"
    title_selector = "h2 a ::text"
    date_selector = "p.news-item__date::text"
    summary_selector = "p.news-item__preamble ::text"


class BoverketSpider(AgencyListingSpider):
    """Boverket: news and Boverket's own remisser (proposed regulations, with deadline)."""

    name = "boverket"
    listing_paths = (
        "/sv/om-boverket/nyheter-aktuellt/nyheter/",
        "/sv/om-boverket/remisser/",
    )
    row_selector = "ul.list > li.list-item"
    title_selector = "h3 ::text"
    date_selector = "p.list-item__date::text"
    summary_selector = "p:not(.list-item__date) ::text"


class NaturvardsverketSpider(AgencyFeedSpider):
    """Naturvårdsverket: news and press releases from its RSS feed, text from each page."""

    name = "naturvardsverket"
    feed_paths = ("/rss/nyheter/",)
