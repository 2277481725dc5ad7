"""The week's digest written to its folder in every format and recorded in the store."""

from __future__ import annotations

import base64
import logging
import os
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Literal

from omvarld.config.digest import DigestConfig, load_digest_config
from omvarld.core.areas import FocusAreas
from omvarld.digest.build import WeeklyDigest, build_digest, digest_content_hash
from omvarld.digest.ics import digest_ics
from omvarld.digest.message import build_message
from omvarld.digest.positions import Positions
from omvarld.digest.render import render_html, render_markdown, render_pdf, trend_images
from omvarld.store import Store

log = logging.getLogger(__name__)


def _write_atomically(path: Path, content: str | bytes) -> None:
    """Temp file + rename: a reader (or the mailer) never sees half a digest."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if isinstance(content, bytes):
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
        else:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(content)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the digest from a web server
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def load_archived_digest(out_dir: Path | str, week: str) -> WeeklyDigest | None:
    """The digest archived for `week` by `write_digest`, if any."""
    path = Path(out_dir) / f"{week}.json"
    if not path.is_file():
        return None
    return WeeklyDigest.model_validate_json(path.read_text(encoding="utf-8"))


def write_digest(
    store: Store,
    week: str,
    out_dir: Path | str,
    *,
    areas: FocusAreas,
    per_area: int | None = None,
    max_age_days: int | Literal["config"] | None = "config",
    now: datetime | None = None,
    config: DigestConfig | None = None,
    positions: Positions | None = None,
    pdf: bool | None = None,
    replayed: bool = False,
    incomplete_sources: Sequence[str] = (),
) -> dict[str, Path]:
    """Build the week's digest and write it to `out_dir` in every format, and record it.

    `<week>.html` (standalone page, charts inline), `.md`, `.pdf` (unless `pdf` or
    `digest.yaml: pdf` says no), `.ics` (the consultations' deadlines), `.eml` (the
    e-mail every-area recipients get) and `.json` (the digest itself: the archive a later
    send reads). Idempotent: a re-run overwrites the same files and updates the one
    record; with the same store and `now` the files are byte for byte the same.
    `replayed`: the store was filled by the replay (`--replay`); the digest says so and
    marks the entries built from constructed fixtures (`omvarld.digest.replayed`)."""

    config = config or load_digest_config().check_areas(areas)
    digest = build_digest(store, week, areas=areas, per_area=per_area,
                          max_age_days=max_age_days, now=now, config=config,
                          positions=positions, incomplete_sources=incomplete_sources)
    if replayed:
        from omvarld.digest.replayed import mark_replayed

        digest = mark_replayed(digest, store)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / digest.week
    pngs = trend_images(digest)
    html = render_html(digest, areas, images={a: _data_uri(b) for a, b in pngs.items()},
                       more_url=config.more_url, ics_href=f"{digest.week}.ics")
    paths = {"html": stem.with_suffix(".html"), "markdown": stem.with_suffix(".md")}
    _write_atomically(paths["html"], html)
    _write_atomically(paths["markdown"], render_markdown(digest, areas,
                                                         more_url=config.more_url))
    paths["ics"] = stem.with_suffix(".ics")
    _write_atomically(paths["ics"], digest_ics(digest))
    pdf_bytes = None
    if config.pdf if pdf is None else pdf:
        pdf_bytes = render_pdf(html)
        paths["pdf"] = stem.with_suffix(".pdf")
        _write_atomically(paths["pdf"], pdf_bytes)
    message = build_message(digest, areas, config, recipients=[], pngs=pngs,
                            pdf=pdf_bytes if config.attach_pdf else None)
    paths["eml"] = stem.with_suffix(".eml")
    _write_atomically(paths["eml"], message.as_bytes())
    paths["json"] = stem.with_suffix(".json")
    _write_atomically(paths["json"], digest.model_dump_json(indent=1))
    entries = sum(len(v) for v in digest.areas.values())
    store.record_digest(
        digest.week,
        digest_content_hash(digest),
        {kind: str(path) for kind, path in paths.items()},
        entries,
    )
    log.info("digest %s written to %s", digest.week, out)
    return paths
