"""Every command's help says what its options default to, and rich renders all of it."""

from __future__ import annotations

import re

import pytest
import typer
from typer.testing import CliRunner

from service.cli import cli

# What rich would take for a markup tag and swallow: "[default: X]" shows as nothing.
MARKUP_LIKE = re.compile(r"\[[a-z/#@]")


def _commands(command, path: tuple[str, ...] = ()):
    yield path, command
    if hasattr(command, "commands"):  # a group (typer ships its own click: no isinstance)
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(typer.main.get_command(cli)))


@pytest.mark.parametrize("path, command", COMMANDS, ids=[" ".join(path) or "policing-metrics" for path, _ in COMMANDS])
def test_no_help_text_holds_what_rich_would_swallow_as_markup(path, command):
    texts = [command.help or ""] + [getattr(param, "help", None) or "" for param in command.params]
    assert [text for text in texts if MARKUP_LIKE.search(text)] == []


def test_an_option_defaulting_to_a_setting_names_the_setting_in_its_help():
    result = CliRunner().invoke(cli, ["figures", "record", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "[default: (POLICING_METRICS_DEFAULT_AREA, the force's area)]" in result.output
    assert "[default: (POLICING_METRICS_ACTOR or the OS user)]" in result.output
