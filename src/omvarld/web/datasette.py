"""Datasette over the SQLite store, configured for analysts who already know it.

Nothing of Datasette is re-implemented: this module writes Datasette's own metadata file
(titles and descriptions, facets on the documents and labels, the FTS5 index
`documents_fts` wired to the documents table, the label column, internal tables hidden, a
few canned queries) and starts `datasette serve`.

The store is opened the way Datasette opens any file not marked immutable: read-only
connections (`mode=ro`) that see new rows as the crawler writes them. `--immutable` would
be wrong here: it promises SQLite the file never changes, and the crawler and the
classify stage write to it while analysts browse."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from omvarld.core.areas import FocusAreas

FACETS = ["source", "level", "doc_type", "language"]
# The plugin giving Datasette the web app's full-text search (`_sok=`, the query `sok`).
PLUGINS_DIR = Path(__file__).resolve().parent / "datasette_plugins"
SEARCH_SQL = (
    "SELECT d.id, d.title, d.publisher, d.source, d.level, d.doc_type, d.language, "
    "d.published, d.url FROM documents_stem_fts f JOIN documents d ON d.id = f.rowid "
    "WHERE documents_stem_fts MATCH omvarld_fts(:q) "
    "ORDER BY bm25(documents_stem_fts, 3.0, 1.0), d.id")
HIDDEN = ["alembic_version", "embeddings", "documents_stem_fts"]


def database_name(sqlite_path: Path) -> str:
    """Datasette names a database after its file's stem."""
    return sqlite_path.stem


def metadata(areas: FocusAreas, db_name: str) -> dict[str, Any]:
    """Datasette's metadata for the store at `<db_name>.sqlite`."""
    area_list = "; ".join(f"{a.id} = {a.name('sv')}" for a in areas.areas)
    tables: dict[str, Any] = {
        "documents": {
            "title": "Dokument",
            "description": "Insamlade policydokument, ett per kanonisk URL. Sökrutan "
                           "söker som webbappen: böjningar, å/ä/ö = æ/ø och motsvarande "
                           "ord på svenska, danska och engelska (också ?_sok=ord och "
                           "frågan ”sok”). Fasetter på källa, nivå, dokumenttyp och språk.",
            "label_column": "title",
            "fts_table": "documents_stem_fts",
            "fts_pk": "id",
            "facets": FACETS,
            "sort_desc": "first_seen",
            "sortable_columns": ["id", "title", "publisher", "source", "level", "doc_type",
                                 "language", "published", "deadline", "first_seen"],
            "columns": {
                "level": "eu, national, regional eller local",
                "doc_type": "dokumenttyp, t.ex. sou, remiss, press_release",
                "published": "publiceringsdatum (tomt om okänt)",
                "deadline": "sista svarsdag för remisser och samråd",
                "first_seen": "när omvarld först hittade dokumentet (UTC)",
                "story_id": "dokument med samma story_id är samma nyhet hos olika utgivare",
            },
        },
        "labels": {
            "title": "Fokusområden (etiketter)",
            "description": f"Klassificeringen per dokument och fokusområde ({area_list}). "
                           "accepted = 1 när poängen når områdets tröskel; evidence "
                           "håller matchade termer och den mest träffande meningen.",
            "facets": ["area", "accepted"],
            "sort_desc": "score",
            "columns": {"score": "sannolikhet 0–1", "threshold": "områdets tröskel",
                        "accepted": "1 = dokumentet tillhör området",
                        "evidence": "belägg: terms, sentence, similarity, margin"},
        },
        "document_stakeholders": {
            "title": "Aktörer i dokumenten",
            "description": "Organisationer som dokumenten nämner, med antal omnämnanden.",
            "facets": ["name", "kind"],
            "sort_desc": "count",
        },
        "document_references": {
            "title": "Hänvisningar",
            "description": "Beteckningar som dokumenten hänvisar till (is_own = dokumentets "
                           "egen); dokument som delar en beteckning hör till samma ärende.",
            "facets": ["kind", "is_own"],
        },
        "feedback": {
            "title": "Rättelser",
            "description": "Analytikers rättelser av fokusområden: vem, när, vad och varför.",
            "facets": ["area", "action", "author"],
            "sort_desc": "created",
        },
        "digests": {"title": "Veckobrev", "sort_desc": "week"},
        "crawl_runs": {"title": "Insamlingskörningar", "facets": ["source", "status"],
                       "sort_desc": "started"},
    }
    for name in HIDDEN:
        tables[name] = {"hidden": True}
    return {
        "title": "omvarld – Omvärldsbevakning Malmö stad",
        "description": "Klassificerade policydokument från EU, nationella och regionala "
                       "utgivare. Samma data som omvarld web, skrivskyddat.",
        "databases": {db_name: {
            "tables": tables,
            "queries": {
                "sok": {
                    "title": "Sök som webbappen",
                    "description": "Samma träffar som omvarld web och omvarld search för "
                                   "orden i q: böjningar, stavningar (Öresund = Øresund) "
                                   "och motsvarande ord på svenska, danska och engelska.",
                    "sql": SEARCH_SQL,
                },
                "dokument_per_omrade": {
                    "title": "Dokument i ett fokusområde, nyast först",
                    "description": f"Ange område: {area_list}.",
                    "sql": "SELECT d.id, d.title, d.publisher, d.level, d.doc_type, "
                           "d.published, round(l.score, 3) AS score, d.url "
                           "FROM documents d JOIN labels l ON l.document_id = d.id "
                           "WHERE l.accepted = 1 AND l.area = :area "
                           "ORDER BY coalesce(d.published, date(d.first_seen)) DESC",
                },
                "oppna_remisser": {
                    "title": "Öppna remisser och samråd",
                    "sql": "SELECT id, title, publisher, deadline, url FROM documents "
                           "WHERE deadline >= date('now') ORDER BY deadline",
                },
            },
        }},
    }


def write_metadata(areas: FocusAreas, sqlite_path: Path, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(metadata(areas, database_name(sqlite_path)), ensure_ascii=False,
                              indent=2), encoding="utf-8")
    return out


def serve_command(sqlite_path: Path, metadata_path: Path, host: str, port: int) -> list[str]:
    """The `datasette serve` command line (Datasette of this environment)."""
    return [sys.executable, "-m", "datasette", "serve", str(sqlite_path),
            "--metadata", str(metadata_path), "--plugins-dir", str(PLUGINS_DIR),
            "--host", host, "--port", str(port),
            "--setting", "default_page_size", "50"]
