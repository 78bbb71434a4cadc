"""Every command is documented: --help works, shows examples, and the README shows the command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from srl_data.cli import app

REPO = Path(__file__).resolve().parents[2]
COMMANDS = sorted(get_command(app).commands)  # type: ignore[attr-defined]


def test_the_expected_commands_exist():
    assert COMMANDS == sorted(["generate", "split-steps", "hindsight", "score", "stats", "push", "run"])


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_usage_and_examples(command):
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "120", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert f"Usage: srl-data {command}" in result.output
    assert "Examples:" in result.output
    assert f"srl-data {command} " in result.output.split("Examples:", 1)[1]


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_shows_the_command(command):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"srl-data {command} " in readme


def test_help_does_not_import_heavy_libraries():
    code = ("import sys; from srl_data.cli import app; from typer.testing import CliRunner; "
            "CliRunner().invoke(app, ['--help']); "
            "print(sorted(m for m in ('datasets', 'openai', 'pyarrow', 'huggingface_hub', 'numpy', 'tiktoken', "
            "'pandas', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
