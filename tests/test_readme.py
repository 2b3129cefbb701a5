"""README.md: its sample output is the example answer's text, and its commands exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()
EXAMPLE = (ROOT / "examples/answers/000_d8520ca7f81b1e4f/answer.md").read_text().splitlines()


def test_the_sample_output_is_quoted_from_the_example_answer():
    block = README.split("<!-- sample:begin")[1].split("<!-- sample:end -->")[0]
    quoted = [line[2:] for line in block.splitlines() if line.startswith("> ")]
    assert len(quoted) >= 8
    for line in quoted:
        assert line in EXAMPLE, f"README sample line is not in the example answer: {line[:80]}"
    assert "placeholder" not in README.lower()


def test_every_cnaps_command_in_the_table_exists():
    from click.testing import CliRunner

    from cnaps.cli import cli

    commands = set(re.findall(r"^\| `cnaps (\w+)", README, flags=re.M))
    assert {"answer", "upscale", "eval", "train"} <= commands
    for name in commands:
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
