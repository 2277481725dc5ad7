"""Standard metadata before selectors (`omvarld.crawl.metadata`), on every real recorded page
under tests/fixtures/: title, date and canonical URL come from JSON-LD, OpenGraph, `DC.*`,
`<time datetime>`, the canonical link or htmldate — no per-site selector is involved.

Expected values were read off each page by hand (its `<meta>`, visible date and heading).
Where a page states no date of its own, or its markup contradicts itself, the date is not
asserted and the reason is given.

And: a main text that is the site's navigation or a bare download list is rejected."""

from __future__ import annotations

from datetime import date

import pytest
from parsel import Selector

from conftest import FIXTURES
from omvarld.crawl.metadata import chrome_share, is_chrome, page_meta

RG = "http://www.regeringen.se/rattsdokument/"
EP = "https://www.europarl.europa.eu/news/en/press-room/"
OEIL_SUMMARY = "https://oeil.europarl.europa.eu/oeil/en/document-summary?id=1864147"
OEIL_FILE = "https://oeil.secure.europarl.europa.eu/oeil/en/procedure-file?reference=2024/0258(COD)"

# file: (URL it was fetched as, title, date or a reason it is not asserted, canonical URL)
REAL_PAGES = {
    "regeringen/dir-2017-29_document-page.html": (
        "https://www.regeringen.se/rattsdokument/kommittedirektiv/2017/03/dir.-201729/",
        "Tilläggsdirektiv till Forskningsdatautredningen (U 2016:04)",
        date(2017, 3, 24),
        RG + "kommittedirektiv/2017/03/dir.-201729/",
    ),
    "regeringen/ds-2016-46_document-page.html": (
        "https://www.regeringen.se/rattsdokument/departementsserien-och-promemorior/2016/12/ds-201646/",
        "En ny organisation för etikprövning av forskning",
        date(2016, 12, 30),
        RG + "departementsserien-och-promemorior/2016/12/ds-201646/",
    ),
    "regeringen/sou-2017-66_document-page.html": (
        "https://www.regeringen.se/rattsdokument/statens-offentliga-utredningar/2017/08/sou-201766/",
        "Dataskydd inom Socialdepartementets verksamhetsområde – en anpassning till EU:s "
        "dataskyddsförordning",
        date(2017, 8, 28),  # DC.Date; the page's first <time> is the decision, 15 June
        RG + "statens-offentliga-utredningar/2017/08/sou-201766/",
    ),
    "regeringen/prop-2017-18-86_document-page.html": (
        "https://www.regeringen.se/rattsdokument/proposition/2018/01/prop.-20171886/",
        "Mer ändamålsenliga bestämmelser om rättsliga biträden",
        date(2018, 1, 30),
        RG + "proposition/2018/01/prop.-20171886/",
    ),
    "regeringen/prop-2008-09-140_document-page.html": (
        "https://www.regeringen.se/rattsdokument/proposition/2009/03/200809140/",
        "Ett användbart försvar - försvarspolitisk proposition",
        date(2009, 3, 19),  # DC.Date; DC.Date.Created is the page's migration, 2015-04-02
        RG + "proposition/2009/03/200809140/",
    ),
    "regeringen/prop-1997-98-44_document-page.html": (
        "https://www.regeringen.se/rattsdokument/proposition/1997/01/prop.-19979844-/",
        "Personuppgiftslag",
        "its DC.Date is 1997-01-01, a placeholder for a proposition of the 1997/98 session",
        RG + "proposition/1997/01/prop.-19979844-/",
    ),
    "europarl_press/press-room_release-page_20241212IPR25960.html": (
        EP + "20241212IPR25960/x",
        "EP paves way for the use of EU funds to finance natural disaster recovery",
        date(2024, 12, 17),
        EP + "20241212IPR25960/ep-paves-way-for-the-use-of-eu-funds-to-finance-natural-"
        "disaster-recovery",
    ),
    "europarl_press/press-room_release-page_20250204IPR26689.html": (
        EP + "20250204IPR26689/x",
        "MEPs: Georgia’s self-proclaimed authorities have no legitimacy",
        date(2025, 2, 13),
        EP + "20250204IPR26689/meps-georgia-s-self-proclaimed-authorities-have-no-legitimacy",
    ),
    "eurlex/eurlex_document-page_A9-2023-0369.html": (
        "https://eur-lex.europa.eu/legal-content/EN/ALL/?uri=EP:P9_A(2023)0369",
        "RECOMMENDATION on the draft Council decision on the conclusion of the Agreement "
        "between the European",
        date(2023, 11, 21),  # "Date of document: 21/11/2023", found by htmldate
        "https://eur-lex.europa.eu/legal-content/EN/ALL/?uri=EP%3AP9_A%282023%290369",
    ),
    "eurlex/eurlex_procedure-page_2021-106-COD.html": (
        "https://eur-lex.europa.eu/procedure/EN/2021_106",
        "Proposal for a REGULATION OF THE EUROPEAN PARLIAMENT AND OF THE COUNCIL LAYING DOWN "
        "HARMONISED RULES",
        "a procedure page dates events (proposal, EP position …), not itself",
        "https://eur-lex.europa.eu/procedure/EN/2021_106",
    ),
    "europarl_documents/oeil_document-summary_1864147.html": (
        OEIL_SUMMARY,
        "Business in Europe: Framework for Income Taxation (BEFIT)",
        "its only <time> says datetime=2018-07-01 around the text 13/11/2025",
        OEIL_SUMMARY,  # no canonical link: the URL it was fetched as
    ),
    "europarl_documents/oeil_procedure-file_2024-0258-COD.html": (
        OEIL_FILE,
        "Procedure File: 2024/0258(COD)",
        "a procedure file dates events, not itself",
        OEIL_FILE,
    ),
}


def meta_of(name: str):
    url = REAL_PAGES[name][0]
    return page_meta((FIXTURES / name).read_text(encoding="utf-8", errors="replace"), url)


def test_every_real_recorded_html_page_is_listed():
    """A real page added under tests/fixtures/ must join this table."""
    real = set()
    for folder in FIXTURES.iterdir():
        provenance = folder / "PROVENANCE.md"
        if not provenance.is_file():
            continue
        text = provenance.read_text(encoding="utf-8")
        if "## Recorded" not in text:
            continue
        recorded = text.split("## Recorded", 1)[1].split("\n## ", 1)[0]
        real |= {f"{folder.name}/{p.name}" for p in folder.glob("*.html") if p.name in recorded}
    # regeringen's recorded pages are described in its own table, not a "Recorded" section
    real |= {f"regeringen/{p.name}" for p in (FIXTURES / "regeringen").glob("*_document-page.html")}
    assert real == set(REAL_PAGES)


@pytest.mark.parametrize("name", sorted(REAL_PAGES))
def test_title_from_standard_metadata(name):
    meta = meta_of(name)
    assert meta.title.startswith(REAL_PAGES[name][1])
    assert meta.found_by["title"] in (
        "JSON-LD headline", "og:title", "DC.title", "WT.z_docTitle", "h1", "title"
    )


@pytest.mark.parametrize("name", sorted(REAL_PAGES))
def test_date_from_standard_metadata(name):
    expected = REAL_PAGES[name][2]
    if isinstance(expected, str):
        pytest.skip(f"date not asserted: {expected}")
    meta = meta_of(name)
    assert meta.published == expected, meta.found_by


@pytest.mark.parametrize("name", sorted(REAL_PAGES))
def test_canonical_url_from_standard_metadata(name):
    assert meta_of(name).canonical == REAL_PAGES[name][3]


def test_a_trailing_site_name_is_cut_from_the_title():
    html = (
        '<html><head><title>Nyheter - Boverket</title><meta property="og:site_name" '
        'content="Boverket"><meta property="og:title" content="Nya regler - Boverket">'
        "</head><body><h1>Nya regler om klimatdeklaration</h1></body></html>"
    )
    assert page_meta(html, "https://www.boverket.se/a").title == "Nya regler"


def test_json_ld_comes_first():
    html = """<html><head>
    <script type="application/ld+json">{"@context": "https://schema.org", "@graph": [
      {"@type": "WebSite", "name": "Kommunen"},
      {"@type": "NewsArticle", "headline": "Ny detaljplan antagen",
       "datePublished": "2026-11-12T08:00:00+01:00", "url": "https://kommun.se/nyheter/plan"}]}
    </script><meta property="og:title" content="Annat"></head><body><h1>Rubrik</h1></body></html>"""
    meta = page_meta(html, "https://kommun.se/nyheter/plan?utm_source=x")
    assert (meta.title, meta.published, meta.canonical) == (
        "Ny detaljplan antagen", date(2026, 11, 12), "https://kommun.se/nyheter/plan"
    )


# -- chrome instead of a main text --------------------------------------------------------

NAVIGATION_PAGE = """<html><body>
<a href="#main">Hoppa till huvudinnehåll</a> <a href="/lyssna">Lyssna</a>
<a href="/en">English website</a> <a href="/sok">Sök</a>
<nav><a href="/regeringen">Regeringen</a> <a href="/dokument">Dokument och publikationer</a>
<a href="/press">Press</a> <a href="/kontakt">Kontakta oss</a></nav>
<main><ul><li><a href="/a.pdf">Remiss av SOU 2025:112 (pdf 2 MB)</a></li>
<li><a href="/b.pdf">Remissmissiv (pdf 120 kB)</a></li></ul></main></body></html>"""
TEXT_AS_EXTRACTED = """Hoppa till huvudinnehåll
Lyssna
English website
Regeringen
Dokument och publikationer
Remiss av SOU 2025:112 (pdf 2 MB)
Remissmissiv (pdf 120 kB)"""


def test_a_text_of_navigation_and_download_links_is_chrome():
    page = Selector(text=NAVIGATION_PAGE)
    share, count = chrome_share(TEXT_AS_EXTRACTED, page)
    assert count == 7 and share == 1.0
    assert is_chrome(TEXT_AS_EXTRACTED, page)


def test_a_real_text_with_a_few_links_is_not_chrome():
    page = Selector(text=(FIXTURES / "regeringen/sou-2017-66_document-page.html").read_text(
        encoding="utf-8"))
    text = (
        "EU:s dataskyddsförordning blir tillämplig i Sverige den 25 maj 2018.\n"
        "Utredningen föreslår anpassningar inom Socialdepartementets område.\n"
        "Lyssna\nDela"
    )
    assert not is_chrome(text, page)


def test_a_page_whose_text_is_chrome_keeps_its_attachments_text_instead():
    """The document's own text is dropped (noted in the report) and its PDF is read even
    though a news item's PDFs are not read otherwise."""
    from factories import LOCAL, page_response, source_spider
    from omvarld.crawl.generic import Row

    spider = source_spider("trafikverket")(base_url=f"{LOCAL}/trafikverket")
    row = Row(url="https://www.trafikverket.se/om-oss/nyheter/a/", title="Remiss av SOU 2025:112")
    body = NAVIGATION_PAGE.replace("<main>", "<main><h1>Remiss av SOU 2025:112</h1>").encode()
    (out,) = spider.parse_detail(page_response("trafikverket", "/om-oss/nyheter/a/", body), row=row)
    assert out.url == f"{LOCAL}/trafikverket/a.pdf"  # the PDF request, not the document
    doc = out.cb_kwargs["doc"]
    assert doc.text == "" and doc.title == "Remiss av SOU 2025:112"
    assert any("navigation or a download list" in e for e in spider.report.errors)
