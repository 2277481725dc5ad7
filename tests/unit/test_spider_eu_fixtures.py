"""The fixture folders of the EU and Folketinget sources are what their PROVENANCE.md says:
every served file exists and is described, recorded files are byte-identical to what was
recorded (sha256), and written files built by a script are rebuilt identically by it."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES
from omvarld.crawl.replay import load_routes

SOURCES = (
    "eurlex",
    "europarl_documents",
    "europarl_press",
    "ec_presscorner",
    "have_your_say",
    "consilium",
    "cor",
    "folketinget",
)
OWN_FILES = {"routes.json", "PROVENANCE.md", "construct_fixtures.py", "construct_pdfs.py"}
RECORDED = {"eurlex": 4, "europarl_documents": 3, "europarl_press": 2}  # files per folder
BUILT = ("europarl_documents", "consilium", "cor", "folketinget")  # construct_*.py


@pytest.mark.parametrize("source", SOURCES)
def test_every_route_points_at_a_file_that_exists(source):
    routes = load_routes(FIXTURES / source)
    assert routes and all((FIXTURES / source / r.file).is_file() for r in routes if r.file)


@pytest.mark.parametrize("source", SOURCES)
def test_every_fixture_file_is_described_in_provenance_as_recorded_or_written(source):
    provenance = (FIXTURES / source / "PROVENANCE.md").read_text(encoding="utf-8")
    files = {p.name for p in (FIXTURES / source).iterdir() if p.is_file()} - OWN_FILES
    assert files and all(name in provenance for name in files)
    assert "WRITTEN" in provenance or "## Written" in provenance


def recorded_hashes(source: str) -> dict[str, str]:
    text = (FIXTURES / source / "PROVENANCE.md").read_text(encoding="utf-8")
    if "## Recorded" not in text:
        return {}
    recorded = text.split("## Recorded", 1)[1].split("\n## ", 1)[0]
    return {
        m.group(1): m.group(2)
        for m in re.finditer(r"^\| (\S+) \|.*\| ([0-9a-f]{64}) \|$", recorded, re.MULTILINE)
    }


@pytest.mark.parametrize("source", SOURCES)
def test_recorded_files_are_unchanged(source):
    hashes = recorded_hashes(source)
    assert len(hashes) == RECORDED.get(source, 0)
    for name, digest in hashes.items():
        assert hashlib.sha256((FIXTURES / source / name).read_bytes()).hexdigest() == digest, name


@pytest.mark.parametrize("source", BUILT)
def test_written_files_are_rebuilt_identically_by_their_script(source, tmp_path):
    for folder in BUILT:  # a script may use another folder's builder (the PDF one)
        shutil.copytree(FIXTURES / folder, tmp_path / folder)
    copy = tmp_path / source
    built = [p for p in copy.iterdir() if "written" in p.name]
    for path in built:
        path.unlink()
    for script in sorted(copy.glob("construct_*.py")):
        subprocess.run([sys.executable, str(script)], check=True, capture_output=True)
    for path in built:
        original = FIXTURES / source / path.name
        assert path.read_bytes() == original.read_bytes(), path.name


def test_the_big_notice_is_kept_whole():
    notice = Path(FIXTURES / "eurlex" / "cellar_branch-notice_52018PC0340.xml")
    assert notice.stat().st_size == 985_067
