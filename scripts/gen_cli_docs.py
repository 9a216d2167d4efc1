"""Regenerate docs/cli.md from the commands' --help (tests check it is current).

Usage: python scripts/gen_cli_docs.py
"""

from __future__ import annotations

from pathlib import Path

import click
from click.testing import CliRunner

from hcpcs_atlas.cli import main

DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def _commands(group: click.Group, prefix: list[str]) -> list[list[str]]:
    found = [prefix]
    for name in sorted(group.commands):
        cmd = group.commands[name]
        if isinstance(cmd, click.Group):
            found += _commands(cmd, [*prefix, name])
        else:
            found.append([*prefix, name])
    return found


def render() -> str:
    runner = CliRunner()
    parts = [
        "# CLI reference",
        "",
        "Generated from `--help` by `scripts/gen_cli_docs.py`; do not edit by hand.",
        "",
    ]
    for path in _commands(main, []):
        title = " ".join(["hcpcs-atlas", *path])
        text = runner.invoke(main, [*path, "--help"], prog_name="hcpcs-atlas", terminal_width=100).output
        parts += [f"## `{title}`", "", "```", text.rstrip(), "```", ""]
    return "\n".join(parts)


if __name__ == "__main__":
    DOC.write_text(render(), encoding="utf-8")
    print(f"wrote {DOC}")
