"""The regeringen.se spider on recorded pages (parsed once, at module level) and on the
constructed GetFilteredItems listings built from them; Swedish date and deadline parsing.
Crawls against the replay server are in test_crawl_subprocess.py."""

from __future__ import annotations

import json
from datetime import date

import pytest

from conftest import FIXTURES, fixture_response
from omvarld.config.load import load_sources
from omvarld.core.model import Document
from omvarld.crawl.base import LayoutChanged
from omvarld.crawl.dates import parse_remiss_deadline, parse_swedish_date
from omvarld.crawl.replay import markdown_page_as_html
from omvarld.crawl.sources.regeringen import ListingHit, RegeringenSpider, parse_hit
from omvarld.crawl.sources.regeringen import parse_text as regeringen_text

BASE = "http://127.0.0.1:8000/regeringen"  # a local base: never contacted by these tests
ROUTES = json.loads((FIXTURES / "regeringen/routes.json").read_text(encoding="utf-8"))["routes"]
PAGES = {r["path"]: r for r in ROUTES if not r["path"].startswith("/Filter/")}
LISTINGS = {
    r["query"]["preFilteredCategories"]: r["file"]
    for r in ROUTES
    if r["path"].startswith("/Filter/")
}

DIR = "/rattsdokument/kommittedirektiv/2017/03/dir.-201729/"
DS = "/rattsdokument/departementsserien-och-promemorior/2016/12/ds-201646/"
SOU = "/rattsdokument/statens-offentliga-utredningar/2017/08/sou-201766/"
REMISS_DS = "/remisser/2026/01/remiss-av-ds-202528-starkt-trygghet-i-bostadsratter/"
REMISS_SOU = "/remisser/2026/01/remiss-av-sou-20263-genomforande-av-plattformsdirektivet/"
REMISS_KOLL = (
    "/remisser/2026/01/remiss-av-promemoriorna-enhetligare-ordningsregler-for-"
    "kollektivtrafiken-och-en-nationell-rapporteringsvag-for-kollektivtrafiken/"
)
PM_MALMO = (
    "/pressmeddelanden/2025/12/finansminister-elisabeth-svantesson-reser-till-malmo-och-kopenhamn/"
)
PM_BOSTAD = (
    "/pressmeddelanden/2025/12/moderniserat-bostadsbidrag-ska-minska-felaktiga-"
    "utbetalningar-och-aterkrav/"
)
PM_JOBB = "/pressmeddelanden/2025/12/arbetsformedlingen-ska-oka-kannedomen-om-etableringsjobb/"
PROP = "/rattsdokument/proposition/2018/01/prop.-20171886/"
REMISS_SOU112 = (
    "/remisser/2026/01/remiss-av-sou-2025112-verktyg-for-skydd-av-eu-medel--rattsliga-"
    "forutsattningar-for-svenska-myndigheter-att-anvanda-arachne-och-edes/"
)
# Pages whose body is only a download list (not routed: their PDFs were not recorded)
NAV_PAGES = {
    "/rattsdokument/proposition/1997/01/prop.-19979844-/": "prop-1997-98-44_document-page.html",
    "/rattsdokument/proposition/2009/03/200809140/": "prop-2008-09-140_document-page.html",
}
PROP_NAV = "/rattsdokument/proposition/1997/01/prop.-19979844-/"
DOC_TYPES = {
    PROP: "proposition",
    REMISS_SOU112: "remiss",
    DIR: "directive",
    DS: "ds",
    SOU: "sou",
    REMISS_DS: "remiss",
    REMISS_SOU: "remiss",
    REMISS_KOLL: "remiss",
    PM_MALMO: "press_release",
    PM_BOSTAD: "press_release",
    PM_JOBB: "press_release",
}


def page_response(path: str):
    """The page as the replay server serves it (mirror Markdown wrapped into HTML)."""
    route = PAGES[path]
    body = (FIXTURES / "regeringen" / route["file"]).read_bytes()
    if route.get("render") == "markdown-as-html":
        body = markdown_page_as_html(body.decode("utf-8")).encode("utf-8")
    return fixture_response("page.html", f"{BASE}{path}", body=body)


def listing_response(code: str, page: int = 1):
    return fixture_response(
        f"regeringen/{LISTINGS[code]}",
        f"{BASE}/Filter/GetFilteredItems?preFilteredCategories={code}&page={page}",
    )


def parse_page(path: str) -> Document:
    """A page parsed without listing data, so the page's own fields are tested."""
    (doc,) = RegeringenSpider(base_url=BASE).parse_page(
        page_response(path),
        hit=ListingHit(path=path, title="listing title"),
        doc_type=DOC_TYPES[path],
    )
    return doc


SPIDER = RegeringenSpider(base_url=BASE)
LISTED = {
    code: list(SPIDER.parse_listing(listing_response(code), code=code, doc_type="x", page=1))
    for code in LISTINGS
}
HITS = {code: [r.cb_kwargs["hit"] for r in requests] for code, requests in LISTED.items()}
DOCS = {path: parse_page(path) for path in PAGES}
ALL_PAGES = pytest.mark.parametrize("path", list(PAGES))


# -- listing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "count"),
    [("1334", 3), ("2099", 4), ("1325", 1), ("1327", 1), ("1331", 1), ("1329", 1), ("2540", 0),
     ("2214", 0)],
)
def test_every_hit_of_a_listing_becomes_a_page_request(code, count):
    assert len(LISTED[code]) == count
    assert all(
        r.url.startswith(f"{BASE}/") and r.url.removeprefix(BASE) in PAGES for r in LISTED[code]
    )


def test_listing_url_asks_for_one_category_page():
    (request,) = [r for r in SPIDER.listing_requests() if "=2099" in r.url]
    assert request.url == (
        f"{BASE}/Filter/GetFilteredItems?lang=sv&filterType=Taxonomy"
        "&filterByType=FilterablePageBase&preFilteredCategories=2099&rootPageReference=0"
        "&displayLimited=False&pageSize=50&page=1"
    )


def test_configured_categories_are_listed_with_their_types():
    assert {r.cb_kwargs["code"]: r.cb_kwargs["doc_type"] for r in SPIDER.listing_requests()} == {
        "1334": "press_release",
        "2099": "remiss",
        "1331": "sou",
        "1325": "ds",
        "1327": "directive",
        "1329": "proposition",
        "2540": "report",
        "2214": "press_release",
    }


def test_hit_title_and_path():
    hit = HITS["1327"][0]
    assert hit.path == DIR
    assert hit.title == "Tilläggsdirektiv till Forskningsdatautredningen (U 2016:04)"


def test_hit_published_from_its_time_element():
    assert HITS["1327"][0].published == date(2017, 3, 24)


def test_hit_without_time_has_no_published_date():
    assert all(hit.published is None for hit in HITS["2099"])


def test_hit_types_and_senders_are_split_at_fran():
    hit = HITS["1327"][0]
    assert hit.types == ("1327",)
    assert hit.senders == ("1294", "1296")


def test_hit_summary_comes_from_an_earlier_paragraph():
    block = (
        '<div class="sortcompact"><a href="/a/">A</a><p>Kort sammanfattning.</p>'
        '<p><a href="/tx/1334">Pressmeddelande</a></p></div>'
    )
    from parsel import Selector

    hit = parse_hit(Selector(text=block).css("div.sortcompact")[0])
    assert hit is not None and hit.summary == "Kort sammanfattning."


def test_next_page_while_the_total_is_not_reached():
    spider = RegeringenSpider(base_url=BASE)
    spider.page_size = 2  # 3 hits in all: a second page exists
    output = list(
        spider.parse_listing(
            listing_response("1334"), code="1334", doc_type="press_release", page=1
        )
    )
    (next_page,) = [r for r in output if r.callback == spider.parse_listing]
    assert next_page.url.endswith("pageSize=2&page=2")


def test_no_next_page_after_the_last_hit():
    assert not [r for r in LISTED["1334"] if r.callback == SPIDER.parse_listing]


def test_a_page_of_stored_documents_ends_the_paging(store):
    for hit in HITS["1334"]:
        store.save_document(
            Document(
                url=f"https://www.regeringen.se{hit.path}",
                source="regeringen",
                publisher="Regeringskansliet",
                level="national",
                title=hit.title,
            )
        )
    spider = RegeringenSpider(base_url=BASE, store=store)
    spider.page_size = 2
    assert (
        list(
            spider.parse_listing(
                listing_response("1334"), code="1334", doc_type="press_release", page=1
            )
        )
        == []
    )
    assert spider.report.unchanged == 3


def test_hits_without_sortcompact_blocks_mean_the_layout_changed():
    body = json.dumps({"TotalCount": 12, "Message": "<ul><li>ny layout</li></ul>"}).encode()
    with pytest.raises(LayoutChanged, match="structure changed"):
        list(
            SPIDER.parse_listing(
                fixture_response("x.json", f"{BASE}/Filter/x", body=body),
                code="1334",
                doc_type="press_release",
                page=1,
            )
        )


def test_configured_categories_exist_in_the_recorded_taxonomy():
    codes = json.loads(
        (FIXTURES / "regeringen/g0v-mirror_taxonomy-codes.json").read_text(encoding="utf-8")
    )
    categories = load_sources().get("regeringen").params["categories"]
    assert {code: codes[code] for code in categories} == {
        "1334": "Pressmeddelande",
        "2099": "Remiss",
        "1331": "Statens offentliga utredningar",
        "1325": "Departementsserien och promemorior",
        "1327": "Kommittédirektiv",
        "1329": "Proposition",
        "2540": "Faktapromemoria",
        "2214": "Uttalande",
    }


# -- pages: one test per field ---------------------------------------------------------


@ALL_PAGES
def test_url_is_on_regeringen_se_never_the_local_server(path):
    assert DOCS[path].url == f"https://www.regeringen.se{path}"


@pytest.mark.parametrize(
    ("path", "title"),
    [
        (DIR, "Tilläggsdirektiv till Forskningsdatautredningen (U 2016:04)"),
        (DS, "En ny organisation för etikprövning av forskning"),
        (
            SOU,
            "Dataskydd inom Socialdepartementets verksamhetsområde – en anpassning till EU:s "
            "dataskyddsförordning",
        ),
        (REMISS_DS, "Remiss av Ds 2025:28 Stärkt trygghet i bostadsrätter"),
        (REMISS_SOU, "Remiss av SOU 2026:3 Genomförande av plattformsdirektivet"),
        (PM_JOBB, "Arbetsförmedlingen ska öka kännedomen om etableringsjobb"),
    ],
)
def test_title_is_the_h1_without_vignette_or_diarienummer(path, title):
    assert DOCS[path].title == title


@pytest.mark.parametrize(
    ("path", "identifier"),
    [
        (DIR, "Dir. 2017:29"),
        (DS, "Ds 2016:46"),
        (SOU, "SOU 2017:66"),
        (REMISS_DS, "Ds 2025:28"),
        (REMISS_SOU, "SOU 2026:3"),
        (REMISS_SOU112, "SOU 2025:112"),
        (REMISS_KOLL, "LI2025/02164"),  # no designation in the title: the diarienummer
        (PROP, "Prop. 2017/18:86"),
        (PM_MALMO, None),
        (PM_BOSTAD, None),
        (PM_JOBB, None),
    ],
)
def test_identifier(path, identifier):
    assert DOCS[path].identifier == identifier


@pytest.mark.parametrize(
    ("path", "diarienummer"),
    [
        (REMISS_SOU112, "Fi2025/02098"),
        (REMISS_DS, "Ju2025/02569"),
        (REMISS_SOU, "A2026/00012"),
        (REMISS_KOLL, "LI2025/02164"),
        (SOU, None),
        (PM_JOBB, None),
    ],
)
def test_the_diarienummer_is_kept_beside_the_designation(path, diarienummer):
    assert DOCS[path].diarienummer == diarienummer


@pytest.mark.parametrize(
    ("path", "responsible"),
    [
        (DIR, "Utbildningsdepartementet"),  # "Ansvarig: Utbildningsdepartementet, Regeringen"
        (DS, "Utbildningsdepartementet"),
        (SOU, "Socialdepartementet"),
        (PROP, "Justitiedepartementet"),
        (PM_JOBB, None),  # the mirror page names none, nor does its listing
    ],
)
def test_the_responsible_ministry_is_metadata_not_text(path, responsible):
    doc = DOCS[path]
    assert doc.responsible == responsible
    assert "Ansvarig" not in doc.text and "ID-nummer" not in doc.text
    assert "Ladda ner" not in doc.text


def test_the_responsible_ministry_comes_from_the_listing_when_the_page_has_none():
    hit = ListingHit(path=PM_JOBB, title="t", sender_names=("Arbetsmarknadsdepartementet",))
    (doc,) = SPIDER.parse_page(page_response(PM_JOBB), hit=hit, doc_type="press_release")
    assert doc.responsible == "Arbetsmarknadsdepartementet"


def test_listing_sender_names_are_read_after_fran():
    (hit,) = HITS["1329"]
    assert hit.senders == ("1287", "1296")
    assert hit.sender_names == ("Justitiedepartementet", "Regeringen")


def navigation_page_output(pdf_body: bytes, path: str = PROP_NAV
                           ) -> tuple[list, RegeringenSpider]:
    """A download-list page parsed, then its attachment answered with `pdf_body`."""
    spider = RegeringenSpider(base_url=BASE)
    body = (FIXTURES / "regeringen" / NAV_PAGES[path]).read_bytes()
    (request,) = spider.parse_page(
        fixture_response("page.html", f"{BASE}{path}", body=body),
        hit=ListingHit(path=path, title="listing title"), doc_type="proposition")
    attachment = fixture_response("x.pdf", request.url, body=pdf_body)
    return list(request.callback(attachment, **request.cb_kwargs)), spider


def test_a_page_whose_body_is_a_download_list_keeps_its_attachments_text():
    # The recorded page's PDF was not recorded: a PDF WRITTEN for another source's tests
    # (tests/fixtures/boverket) stands in for it, to show where the text comes from.
    pdf = (FIXTURES / "boverket/bostadsmarknadsenkaten-2026_written.pdf").read_bytes()
    (doc,), _ = navigation_page_output(pdf)
    assert doc.text.startswith("[Bilaga: personuppgiftslag]\n")
    for line in ("Hoppa till huvudinnehåll", "Lyssna", "English website", "Huvudnavigering"):
        assert line not in doc.text
    assert (doc.identifier, doc.responsible) == ("prop. 1997/98:44", "Justitiedepartementet")
    assert doc.attachments == [
        "https://www.regeringen.se/contentassets/07d13fb3b6354e2faeb20652fcf9a73b/"
        "personuppgiftslag"]


def test_a_bare_vignette_of_a_proposition_gets_its_prop_and_the_menu_stays_out():
    pdf = (FIXTURES / "boverket/bostadsmarknadsenkaten-2026_written.pdf").read_bytes()
    path = "/rattsdokument/proposition/2009/03/200809140/"
    (doc,), _ = navigation_page_output(pdf, path)
    assert (doc.identifier, doc.responsible) == ("Prop. 2008/09:140", "Försvarsdepartementet")
    assert doc.title == "Ett användbart försvar - försvarspolitisk proposition"
    assert doc.text.startswith("[Bilaga: ett-anvandbart-forsvar-prop-200809140]\n")
    assert "Hoppa till huvudinnehåll" not in doc.text


def test_a_download_list_page_whose_attachment_cannot_be_read_has_no_text_not_the_menu():
    (doc,), spider = navigation_page_output(b"<html>404</html>")
    assert doc.text == ""
    assert spider.report.failed == 1 and "not a PDF" in spider.report.errors[0]


def test_navigation_is_told_from_text():
    from omvarld.crawl.sources.regeringen import is_navigation

    assert is_navigation("Hoppa till huvudinnehåll\nLyssna\nEnglish website\nPersonuppgiftslag")
    assert not is_navigation(DOCS[DIR].text)


def test_on_the_recorded_pages_only_the_download_lists_read_as_navigation():
    """The measure on every real regeringen.se page the project holds (old template)."""
    import trafilatura

    from omvarld.crawl.sources.regeringen import is_navigation

    pages = sorted((FIXTURES / "regeringen").glob("*_document-page.html"))
    flagged = {p.name for p in pages
               if is_navigation(trafilatura.extract(p.read_text(encoding="utf-8")) or "")}
    assert flagged == {"prop-1997-98-44_document-page.html",
                       "prop-2008-09-140_document-page.html"}


@pytest.mark.parametrize(
    ("path", "published"),
    [
        (DIR, date(2017, 3, 24)),
        (DS, date(2016, 12, 30)),
        (SOU, date(2017, 8, 28)),
        (REMISS_DS, None),
        (PM_MALMO, None),
    ],
)
def test_published_from_the_page_when_the_listing_has_no_date(path, published):
    assert DOCS[path].published == published


def test_published_from_the_listing_first():
    hit = ListingHit(path=DIR, title="t", published=date(2017, 3, 25))
    (doc,) = SPIDER.parse_page(page_response(DIR), hit=hit, doc_type="directive")
    assert doc.published == date(2017, 3, 25)


@pytest.mark.parametrize(
    ("path", "deadline"),
    [
        (REMISS_DS, date(2026, 3, 10)),
        (REMISS_SOU, date(2026, 3, 31)),
        (REMISS_KOLL, date(2026, 4, 27)),
        (PM_JOBB, None),
        (DIR, None),
    ],
)
def test_remiss_deadline(path, deadline):
    assert DOCS[path].deadline == deadline


@pytest.mark.parametrize(
    ("path", "attachment"),
    [
        (
            DIR,
            "https://www.regeringen.se/4957db/contentassets/2e58f55270e94fb0bab95fb8b1afaa1e/"
            "tillaggsdirektiv-till-forskningsdatautredningen-u-201604--dir.-201729.pdf",
        ),
        (
            DS,
            "https://www.regeringen.se/4b1371/contentassets/0371b35191624ba8b98d9d6e776e82be/"
            "en-ny-organisation-for-etikprovning-av-forskning-ds-2016-46.pdf",
        ),
        (
            SOU,
            "https://www.regeringen.se/4a5125/globalassets/regeringen/dokument/"
            "socialdepartementet/socialforsakringar/dataskydd-inom-socialdepartementets-"
            "verksamhetsomrade_en-anpassning-till-eus-dataskyddsforordning-sou-2017_66-.pdf",
        ),
    ],
)
def test_attachments_are_the_pdf_links_on_regeringen_se(path, attachment):
    assert DOCS[path].attachments == [attachment]


def test_mirror_pages_have_no_attachments():
    assert DOCS[REMISS_DS].attachments == []


@pytest.mark.parametrize(
    ("path", "phrase"),
    [
        (DIR, "Utredaren får nu dessutom i uppdrag att"),
        (DS, "Författningsförslagen föreslås träda i kraft den 1 juli 2018."),
        (SOU, "Utredningen (S 2016:05) antog namnet Socialdataskyddsutredningen."),
        (REMISS_DS, "Remissvaren ska ha kommit in till Justitiedepartementet senast den 10 mars"),
        (PM_MALMO, "Öresundsbron har under de senaste 25 åren haft en stor betydelse"),
        (PROP, "Lagändringarna föreslås träda i kraft den 1 juli 2018."),
    ],
)
def test_text_is_the_main_text(path, phrase):
    assert phrase in DOCS[path].text


@pytest.mark.parametrize("path", [DIR, DS, SOU])
def test_text_leaves_out_navigation_and_share_links(path):
    text = DOCS[path].text
    assert "Generellt kontaktformulär" not in text
    assert "Facebook" not in text and "Veckans regeringssammanträde" not in text


def test_summary_from_the_page_description_when_the_listing_has_none():
    assert DOCS[DS].summary.startswith("I promemorian behandlas frågan om hur etikprövning")


@ALL_PAGES
def test_doc_type_is_the_listing_category(path):
    assert DOCS[path].doc_type == DOC_TYPES[path]


def test_a_page_without_h1_and_text_is_a_reported_error():
    spider = RegeringenSpider(base_url=BASE)
    response = fixture_response(
        "page.html", f"{BASE}{PM_JOBB}", body=b"<html><body><div class='x'></div></body></html>"
    )
    assert (
        list(
            spider.parse_page(
                response, hit=ListingHit(path=PM_JOBB, title="t"), doc_type="press_release"
            )
        )
        == []
    )
    assert spider.report.failed == 1
    assert spider.report.errors[0].startswith(f"https://www.regeringen.se{PM_JOBB}: no h1")


def test_trafilatura_reads_the_wrapped_mirror_page():
    assert regeringen_text(page_response(REMISS_SOU)).endswith(
        "Sista dagen att svara är den 31 mars 2026."
    )


# -- dates ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2017-03-24 15:07:06", date(2017, 3, 24)),
        ("2016-12-30", date(2016, 12, 30)),
        ("24 mars 2017", date(2017, 3, 24)),
        ("Publicerad 28 augusti 2017", date(2017, 8, 28)),
        ("den 1 januari 2027", date(2027, 1, 1)),
        ("mars 2017", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_swedish_date(value, expected):
    assert parse_swedish_date(value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Remissvaren ska ha kommit in till Justitiedepartementet senast den 10 mars 2026.",
            date(2026, 3, 10),
        ),
        ("Sista dag att svara på remissen är den 27 april 2026.", date(2026, 4, 27)),
        ("Sista dagen att svara är den 31 mars 2026.", date(2026, 3, 31)),
        (
            "Intro.\nRemissvaren ska ha kommit in till Finansdepartementet senast den 2 maj 2025. "
            "Svaren bör lämnas per e-post.",
            date(2025, 5, 2),
        ),
        # a report deadline in a press release is no remiss deadline
        (
            "Arbetsförmedlingen ska lämna en muntlig lägesbeskrivning till regeringen senast den "
            "28 april 2026 och slutredovisa uppdraget senast den 28 april 2027.",
            None,
        ),
        ("", None),
    ],
)
def test_parse_remiss_deadline(text, expected):
    assert parse_remiss_deadline(text) == expected
