import subprocess
import sys

from typer.testing import CliRunner

from strtool import __version__
from strtool.cli import app


def test_version():
    r = CliRunner().invoke(app, ["--version"])
    assert r.exit_code == 0
    assert __version__ in r.stdout


def test_python_m_help():
    r = subprocess.run([sys.executable, "-m", "strtool", "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    assert "strtool" in r.stdout


def test_cli_import_does_not_load_torch():
    """`strtool --help`, `eval --pred`, `lmdb info`... must start fast: torch is only
    imported by the commands that run a model."""
    code = "import sys, strtool.cli; print('torch' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


def test_error_message_keeps_brackets(capsys):
    import pytest
    import typer

    from strtool.cli.common import handle_errors
    from strtool.errors import InputError

    @handle_errors
    def boom():
        raise InputError("gt.tsv: line 3: key 'a[b]' is duplicated")

    with pytest.raises(typer.Exit) as e:
        boom()
    assert e.value.exit_code == 1
    err = capsys.readouterr().err
    assert "key 'a[b]' is duplicated" in err and err.count("\n") == 1
