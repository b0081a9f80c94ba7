"""CLI conventions: every command's --help renders (exit 0, no traceback), flags show
no value type, list options say how to repeat them, help text wraps to the terminal,
and a usage error is one line on stderr naming the option (exit 2)."""

import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from strtool.cli import app
from strtool.cli.common import unwrap_help


def _commands(cmd, path=()):
    yield path, cmd
    for name, sub in sorted(getattr(cmd, "commands", {}).items()):
        yield from _commands(sub, (*path, name))


ROOT = typer.main.get_command(app)
COMMANDS = list(_commands(ROOT))


def _help(path, columns=100):
    r = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": str(columns)})
    return r


def test_all_commands_found():
    names = {" ".join(p) for p, _ in COMMANDS}
    assert {"", "train", "eval", "predict", "lmdb info", "synth words", "fonts check"} <= names


@pytest.mark.parametrize(
    ("path", "cmd"), COMMANDS, ids=[" ".join(p) or "strtool" for p, _ in COMMANDS]
)
def test_help_renders_with_conventions(path, cmd):
    r = _help(path)
    out = r.output
    assert r.exit_code == 0, out
    assert r.exception is None and "Traceback" not in out
    assert "<bool>" not in out and "<list[" not in out
    assert "Usage:" in out
    for param in cmd.params:
        if getattr(param, "param_type_name", "") != "option" or param.hidden:
            continue
        name = max(param.opts, key=len)
        assert name in out
        if param.multiple:
            wide = _help(path, columns=400).output
            assert f"Repeat {name} for each value." in wide, name


@pytest.mark.parametrize(
    ("path", "cmd"), COMMANDS, ids=[" ".join(p) or "strtool" for p, _ in COMMANDS]
)
def test_help_text_wraps_to_the_terminal(path, cmd):
    """On a very wide terminal each paragraph of the description is one line: no hard
    line breaks in the middle of a sentence."""
    out = _help(path, columns=2000).output
    lines = [" ".join(line.split()) for line in out.splitlines()]
    listed = [
        (unwrap_help(sub.help) or "").split("\n\n")[0]
        for sub in getattr(cmd, "commands", {}).values()
    ]
    for para in [*(unwrap_help(cmd.help) or "").split("\n\n"), *listed]:
        if para.startswith("\b"):
            continue
        for item in para.splitlines():
            text = " ".join(item.split())
            assert any(text in line for line in lines), text


def test_unwrap_help_keeps_paragraphs_lists_and_verbatim_blocks():
    doc = """First line
    continues here.

    Second paragraph
    also joined.
    - item one
      wrapped
    - item two

    \b
    keep
      as is
    \f
    internal note"""
    assert unwrap_help(doc) == (
        "First line continues here.\n\n"
        "Second paragraph also joined.\n- item one wrapped\n- item two\n\n"
        "\b\nkeep\n  as is\f\ninternal note"
    )
    assert unwrap_help(None) is None and unwrap_help("") == ""


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["train", "--bogus"], "--bogus"),
        (["synth", "words", "-o", "x", "-n", "abc"], "--num"),
        (["eval", "--batch-size", "0"], "--batch-size"),
        (["lmdb", "info"], "'path'"),
        (["train"], "--output"),
        (["lmdb", "nope"], "'nope'"),
        (["synth", "words", "-o", "x", "--json=3"], "--json"),
    ],
)
def test_usage_error_is_one_line_naming_the_option(args, named):
    r = CliRunner().invoke(app, args, env={"COLUMNS": "60"})
    assert r.exit_code == 2
    assert r.stdout == ""
    err = r.stderr.strip()
    assert "\n" not in err and err.startswith("error: ") and named in err, err
    assert "Traceback" not in err


def test_usage_error_in_a_real_process():
    r = subprocess.run(
        [sys.executable, "-m", "strtool", "synth", "words", "-o", "x", "--num", "-3"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and r.stdout == ""
    err = r.stderr.strip()
    assert "\n" not in err and "--num" in err and "strtool synth words --help" in err
