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


# Metavars as Click and Typer users expect them: a flag shows none, an option a word naming its value
# (TEXT, NAME:JOB, PERIOD, [json|csv]), never a Python type.
VALUE_WORD = re.compile(r"^(\[[a-z0-9_-]+(\|[a-z0-9_-]+)*\]|[A-Z][A-Z0-9_]*([:=][A-Z][A-Z0-9_]*)?)$")
PYTHON_TYPE = re.compile(r"<(str|int|float|bool|path|list\[.*?\]|[a-z]+(\|[a-z]+)*)>")
OPTIONS = [
    (path, param)
    for path, command in COMMANDS
    for param in command.get_params(command.context_class(command))  # with --help and the completion options
    if param.param_type_name == "option"
]


@pytest.mark.parametrize("path, command", COMMANDS, ids=[" ".join(path) or "policing-metrics" for path, _ in COMMANDS])
def test_every_commands_help_names_values_in_words_never_python_types(path, command, tmp_path):
    result = CliRunner().invoke(
        cli, [*path, "--help"], env={"COLUMNS": "200", "POLICING_METRICS_DATABASE_URL": f"sqlite:///{tmp_path / 'help.db'}"}
    )
    assert result.exit_code == 0, result.output
    assert PYTHON_TYPE.findall(result.output) == [], result.output
    assert "--help " in result.output
    lines = result.output.splitlines()
    for param in command.params:
        long = next((opt for opt in param.opts if opt.startswith("--")), None)
        if param.param_type_name != "option" or long is None or param.hidden:
            continue
        (line,) = [line for line in lines if re.match(rf"^[│ *]*{re.escape(long)}\s", line)]
        if param.metavar:
            assert f" {param.metavar}" in line, line


@pytest.mark.parametrize("path, param", OPTIONS, ids=[f"{' '.join(path)} {param.name}" for path, param in OPTIONS])
def test_a_flag_shows_no_metavar_and_an_option_a_word_naming_its_value(path, param):
    if param.is_flag or param.count or param.type_descriptor.annotation is bool:
        assert param.metavar == "", f"{param.opts} is a flag"
    else:
        assert VALUE_WORD.match(param.metavar or ""), f"{param.opts} shows {param.metavar!r}"


def test_options_whose_values_have_a_form_say_it():
    help_of = {" ".join(path): {p.opts[0]: p.metavar for p in command.params} for path, command in COMMANDS}
    assert help_of["edition open"]["--author"] == "NAME:JOB"
    assert help_of["edition open"]["--section"] == "SLUG=TITLE"
    assert help_of["history"]["--period"] == "PERIOD"
    assert help_of["history"]["--format"] == "[table|json|csv]"
    assert help_of["history"]["--triangle"] == ""
