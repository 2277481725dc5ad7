"""Datasette plugin: the web app's full-text search inside Datasette.

Datasette's own search box matches the words as typed in the plain FTS5 table; this
plugin adds the SQL function `omvarld_fts(text)` — the query as the web app runs it
(stemmed in Swedish, Danish and English, folded so that "Öresund" is "Øresund", the
search lexicon's equivalents added: `omvarld.search.query.text_query`) as an FTS5
expression over the stemmed table — and the `_sok=` parameter of the documents table,
which keeps the documents whose search terms match it. The canned query `sok` uses the
same function. Loaded by `omvarld datasette` with `--plugins-dir`."""

from __future__ import annotations

from typing import Any

from datasette import hookimpl
from datasette.filters import FilterArguments

# An expression that matches nothing, for a query without a word (FTS5 refuses "").
NOTHING = '"\u2400"'
STEM_TABLE = "documents_stem_fts"
PARAMETER = "_sok"


def fts_expression(text: str | None) -> str:
    from omvarld.search.query import text_query
    from omvarld.store.textsearch import fts5_expression

    return fts5_expression(text_query(text or "")) or NOTHING


@hookimpl
def prepare_connection(conn: Any) -> None:
    conn.create_function("omvarld_fts", 1, fts_expression, deterministic=True)


@hookimpl
def filters_from_request(request: Any, table: str) -> FilterArguments | None:
    text = request.args.get(PARAMETER)
    if table != "documents" or not text:
        return None
    return FilterArguments(
        [f"id IN (SELECT rowid FROM {STEM_TABLE} WHERE {STEM_TABLE} MATCH omvarld_fts(:sok))"],
        {"sok": text}, [f'söker "{text}" som webbappen (böjningar, stavningar, språk)'])
