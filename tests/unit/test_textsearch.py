"""The words of full-text search (`omvarld.store.textsearch`) and the search lexicon
(`omvarld.search.lexicon`): folding across the Nordic spellings, stems per language,
queries with OR, phrases and -word, and the same matches on every store."""

from __future__ import annotations

from pathlib import Path

import pytest

from omvarld.core.model import Document
from omvarld.search.lexicon import expand, load_lexicon
from omvarld.store.textsearch import fold, fts5_expression, index_text, parse, tsquery_expression

LEXICON = Path(__file__).parent.parent.parent / "config" / "search_lexicon.yaml"


@pytest.mark.parametrize(("words", "folded"), [
    (["Öresund", "Øresund", "Oresund", "Oeresund", "ØRESUND"], "oresund"),
    (["Århus", "Aarhus", "Arhus"], "arhus"),
    (["Skåne", "Skane", "Skaane"], "skane"),
    (["Æble", "Aeble", "Äble"], "able"),
    (["café", "cafe"], "cafe"),
])
def test_spellings_fold_to_one_term(words: list[str], folded: str) -> None:
    assert {fold(w) for w in words} == {folded}


def test_a_document_is_stemmed_in_its_own_language_then_folded() -> None:
    assert index_text("Bostäderna vid Öresund", "sv").split() == ["bostad", "vid", "oresund"]
    assert index_text("Boligerne ved Øresund", "da").split()[2] == "oresund"
    assert index_text("Housing near Øresund", "en").split() == ["hous", "near", "oresund"]


def test_queries_know_or_phrases_exclusions_and_prefixes() -> None:
    query = parse('"hyresrätt" OR bostad* -"social housing" klimat')
    assert [[str(t) for t in g] for g in query.groups] == [['hyresrätt', 'bostad*'],
                                                          ["klimat*"]]
    assert [str(t) for t in query.excluded] == ['"social housing"']
    expression = fts5_expression(query)
    assert expression.startswith("((") and ') NOT ("social hous"' in expression
    assert "'bostad':*" in tsquery_expression(query) and "& !(" in tsquery_expression(query)
    # a short stem is never a prefix: "bol*" would match "bolag"
    assert ("bol",) not in {t for t, prefix in expand(parse("bolig"), load_lexicon(LEXICON))
                            .alternatives[0] if prefix}


@pytest.mark.parametrize("hostile", ['"', "NEAR(", "*", "-", "AND OR", "') OR 1=1 --",
                                     'bostäder" OR "1"="1', "title:x", "(((", "^", "NOT",
                                     "\x00", "'; DROP TABLE documents; --", "½ ʼn ＇"])
def test_no_typed_character_reaches_the_stores_syntax(hostile: str) -> None:
    query = parse(hostile)
    for expression in (fts5_expression(query), tsquery_expression(query)):
        if expression is not None:
            terms = [t for alts in query.alternatives for a, _ in alts for t in a]
            assert all(t.replace("_", "").isalnum() for t in terms), terms
            assert "'" not in "".join(terms) and '"' not in "".join(terms)


def test_the_lexicon_adds_the_other_languages_words() -> None:
    lexicon = load_lexicon(LEXICON)
    query = expand(parse("klimat"), lexicon)
    assert query.equivalents == {0: ["climate", "klima"]}
    assert {"climat", "klima"} <= {t[0] for t, _ in query.alternatives[0]}
    unemployment = expand(parse("arbetslösheten"), lexicon)
    assert {"unemployment", "arbejdsløshed"} <= set(unemployment.equivalents[0])
    phrase = expand(parse("kollektivtrafik"), lexicon)
    assert (("public", "transport"), True) in phrase.alternatives[0]
    # Danish "tog" (a train) is Swedish for "took": left out of the lexicon on purpose
    assert "tog" not in (expand(parse("tåg"), lexicon).equivalents.get(0) or [])


def test_a_broken_lexicon_names_the_file_and_the_concept(tmp_path: Path) -> None:
    path = tmp_path / "search_lexicon.yaml"
    path.write_text("concepts:\n  - {sv: [klimat], fr: [climat]}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"search_lexicon.yaml: concept 1: unknown language"):
        load_lexicon(path)


def test_every_spelling_finds_the_same_documents_in_the_store(store) -> None:
    for key, title, language in [
        ("sv", "Ny järnväg över Öresund", "sv"), ("da", "Trafik over Øresund", "da"),
        ("en", "Rail across the Oeresund strait", "en"), ("x", "Malmö hamn", "sv")]:
        store.save_document(Document(url=f"https://example.org/{key}", source="s",
                                     publisher="P", level="regional", title=title, text=title,
                                     language=language))
    found = {w: sorted(i for i, _ in store.fulltext(w)) for w in
             ("Öresund", "Øresund", "Oresund", "øresund*")}
    assert len(set(map(tuple, found.values()))) == 1 and len(found["Öresund"]) == 3


def _migrate(store, revision: str, down: bool = False) -> None:
    from alembic import command
    from alembic.config import Config

    from omvarld.store import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", store.url.replace("%", "%%"))  # configparser
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)


def test_migration_0008_rebuilds_the_index_with_folded_terms_and_back(any_store) -> None:
    store = any_store
    store.save_document(Document(url="https://example.org/da", source="s", publisher="P",
                                 level="regional", title="Trafik over Øresund",
                                 text="Øresundsforbindelsen", language="da"))
    assert store.fulltext("Öresund")
    _migrate(store, "0007", down=True)  # the index of before: "øresund" is not "öresund"
    if store.is_sqlite:
        with store.engine.connect() as conn:
            from omvarld.store.sqlite import search_stemmed
            from omvarld.store.textsearch import TextQuery

            unfolded = TextQuery(alternatives=[{(("øresund",), False)}])
            assert search_stemmed(conn, unfolded, 10)
    assert not store.fulltext("Öresund")
    _migrate(store, "head")  # rebuilt from the stored documents
    assert store.fulltext("Öresund") == store.fulltext("Øresund") != []
