"""Datasette plugin: the web app's full-text search inside Datasette.

Adds the SQL function `omvarld_fts(text)`: the query as the web app runs it (stemmed in
Swedish, Danish and English, folded so that "Öresund" is "Øresund", the search lexicon's
equivalents added: `omvarld.search.query.text_query`) as an FTS5 expression over the
stemmed table. Datasette's search box on the documents table searches that table
(`fts_table` in the metadata) through its SQL function `escape_fts`, which this plugin
replaces by the same function, registered after Datasette's own (`trylast`); the
`_sok=` parameter of the documents table and the canned query `sok` use it too. So the
box, `_sok=` and `sok` give the web app's hits. Loaded by `omvarld datasette` with
`--plugins-dir`."""

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


@hookimpl(trylast=True)
def prepare_connection(conn: Any) -> None:
    conn.create_function("omvarld_fts", 1, fts_expression, deterministic=True)
    # Datasette's own quotes each word for the plain FTS5 table (`datasette.sql_functions`)
    conn.create_function("escape_fts", 1, fts_expression, deterministic=True)


@hookimpl
def filters_from_request(request: Any, table: str) -> FilterArguments | None:
    text = request.args.get(PARAMETER)
    if table != "documents" or not text:
        return None
    return FilterArguments(
        [f"id IN (SELECT rowid FROM {STEM_TABLE} WHERE {STEM_TABLE} MATCH omvarld_fts(:sok))"],
        {"sok": text}, [f'söker "{text}" som webbappen (böjningar, stavningar, språk)'])
