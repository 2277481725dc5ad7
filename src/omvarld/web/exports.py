"""Exports of a search as CSV, Excel and Parquet: every hit, not only the page shown.

One DataFrame per export (pandas), one column per focus area holding the label score,
so that an analyst can pivot in Excel or pandas directly. At most `EXPORT_CAP` hits are
written; the response says so in a header and the search page says it beside the links.

The spreadsheets (CSV, Excel) are for reading: Swedish column names, level and document
type in words, sources by name, one column per focus area named after it, and no
relevance score (it only orders one search's hits and means nothing beside another's).
The CSV is what Swedish Excel opens in columns when double-clicked: `;` between cells,
decimal comma, UTF-8 with a BOM. Parquet, for pandas, keeps the codes and the score.

CSV cells that begin with `=`, `+`, `-`, `@` (or a tab / carriage return), and Excel
cells that begin with `=`, are prefixed with an apostrophe: scraped titles are untrusted
and a spreadsheet would otherwise run them as formulas. Parquet keeps values as they are."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal

import pandas as pd
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

if TYPE_CHECKING:
    from omvarld.search.query import Hit, SearchQuery, SearchResult

EXPORT_CAP = 10_000
PAGE = 200  # the search module's largest page
Format = Literal["csv", "xlsx", "parquet"]
MEDIA_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/vnd.apache.parquet",
}
COLUMNS = ["id", "title", "publisher", "source", "level", "doc_type", "language", "published",
           "deadline", "score", "url", "summary"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Column names of the spreadsheets; the area columns are named after the areas.
SWEDISH_COLUMNS = {"id": "id", "title": "titel", "publisher": "utgivare", "source": "källa",
                   "level": "nivå", "doc_type": "dokumenttyp", "language": "språk",
                   "published": "publicerad", "deadline": "sista svarsdag", "url": "adress",
                   "summary": "sammanfattning"}


def collect_hits(run: Callable[[SearchQuery], SearchResult], query: SearchQuery,
                 cap: int | None = None) -> tuple[list[Hit], int]:
    """Every hit of `query` up to `cap` (default EXPORT_CAP), page by page, and the total
    number of matches."""
    cap = cap or EXPORT_CAP
    hits: list[Hit] = []
    total = 0
    page = 1
    while len(hits) < cap:
        result = run(query.model_copy(update={"page": page, "per_page": PAGE}))
        total = result.total
        hits.extend(result.hits)
        if not result.hits or len(hits) >= total:
            break
        page += 1
    return hits[:cap], total


def hits_frame(hits: Sequence[Hit], area_ids: Sequence[str]) -> pd.DataFrame:
    """One row per hit; `area_<id>` columns hold the label score (empty when unlabelled)."""
    rows = []
    for hit in hits:
        row = {col: getattr(hit, col) for col in COLUMNS}
        for area in area_ids:
            row[f"area_{area}"] = hit.areas.get(area)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=[*COLUMNS, *(f"area_{a}" for a in area_ids)])
    for col in ("published", "deadline"):
        frame[col] = pd.to_datetime(frame[col]).dt.date
    frame["id"] = frame["id"].astype("int64")
    return frame


def readable(frame: pd.DataFrame, *, areas: dict[str, str], sources: dict[str, str],
             levels: dict[str, str], doc_types: dict[str, str], languages: dict[str, str]
             ) -> pd.DataFrame:
    """`frame` (of `hits_frame`) for a spreadsheet: codes as words, Swedish column names,
    "<area name> (poäng 0–1)" per area, the score left out."""
    out = frame.drop(columns=["score"], errors="ignore").copy()
    for column, names in (("source", sources), ("level", levels), ("doc_type", doc_types),
                          ("language", languages)):
        if column in out:
            out[column] = out[column].map(lambda v, names=names: names.get(v, v))
    renamed = {c: SWEDISH_COLUMNS[c] for c in out.columns if c in SWEDISH_COLUMNS}
    for area, name in areas.items():
        renamed[f"area_{area}"] = f"{name} (poäng 0–1)"
    return out.rename(columns=renamed)


def _for_spreadsheet(frame: pd.DataFrame, starts: tuple[str, ...],
                     clean: Callable[[str], str] | None = None) -> pd.DataFrame:
    def defuse(value: object) -> object:
        if not isinstance(value, str):
            return value
        value = clean(value) if clean else value
        return "'" + value if value.startswith(starts) else value

    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(defuse)
    return out


def render(frame: pd.DataFrame, fmt: Format) -> bytes:
    """The frame as a file of format `fmt`."""
    if fmt == "csv":
        # utf-8 with BOM: Excel then reads å, ä, ö right when the file is double-clicked;
        # ";" and the decimal comma: Swedish Excel's list separator and decimal sign.
        return (_for_spreadsheet(frame, _FORMULA_START)
                .to_csv(index=False, sep=";", decimal=",").encode("utf-8-sig"))
    buffer = io.BytesIO()
    if fmt == "xlsx":
        with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
            # openpyxl stores a string starting with "=" as a formula, and refuses control
            # characters that scraped text sometimes carries.
            safe = _for_spreadsheet(frame, ("=",),
                                    lambda v: ILLEGAL_CHARACTERS_RE.sub("", v))
            safe.to_excel(writer, index=False, sheet_name="dokument")
    elif fmt == "parquet":
        frame.to_parquet(buffer, engine="pyarrow", index=False)
    else:
        raise ValueError(f"unknown export format {fmt!r}")
    return buffer.getvalue()
