"""A plain (non-editable) wheel carries the prompts and works from any folder.

Offline: the wheel is built with the hatchling already installed (no build
isolation, no index) and installed without dependencies into a fresh venv that
borrows the dependencies of the running environment.
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _run(args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, timeout=240, **kwargs)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    pytest.importorskip("hatchling", reason="building the wheel offline needs hatchling installed")
    out = tmp_path_factory.mktemp("wheel")
    done = _run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation", "--no-index",
                 "-q", "-w", str(out)])
    assert done.returncode == 0, done.stderr
    (path,) = out.glob("srl_data-*.whl")
    return path


def test_wheel_carries_every_prompt(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    prompts = sorted(p.name for p in (REPO / "prompts").glob("*.toml"))
    assert prompts and all(f"srl_data/prompts/{name}" in names for name in prompts)
    assert "srl_data/cli/__init__.py" in names
    assert any(n.endswith("entry_points.txt") for n in names)


def test_installed_wheel_loads_prompts_and_runs(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    done = _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q",
                 str(wheel)])
    assert done.returncode == 0, done.stderr
    # Dependencies come from the running environment (a path line, so its own .pth
    # files, such as the editable install's, are not processed).
    site = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    Path(site, "borrowed_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    code = (
        "import json, srl_data, srl_data.prompts as p; "
        "print(json.dumps({'file': srl_data.__file__, 'dir': str(p.prompts_dir()), "
        "'templates': p.available_templates(), 'id': p.load_template('srl_step').id}))"
    )
    done = _run([str(python), "-c", code], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["file"].startswith(site) and info["dir"].startswith(site)
    assert "srl_step" in info["templates"] and info["id"] == "srl-step-v1"
    out = tmp_path / "steps.jsonl"
    done = _run([str(env_dir / "bin" / "srl-data"), "split-steps", str(REPO / "examples" / "s1k_style.jsonl"),
                 "--preset", "s1k", "-o", str(out)], cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "COLUMNS": "120"})
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert records and records[0]["metadata"]["template_id"] == "srl-step-v1"
