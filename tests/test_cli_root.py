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


def test_a_command_failing_under_its_progress_bar_prints_its_error_line_only(tmp_path):
    """A bad input found after a progress bar started (synth, train) leaves no bar at
    0/N and no empty line above the error: stderr is the one error line."""
    runner = CliRunner()
    r = runner.invoke(app, ["synth", "words", "-o", str(tmp_path / "s"), "--num", "5",
                            "--lang", "xx"])  # fmt: skip
    assert r.exit_code == 1
    assert r.stderr.startswith("error: unknown language or group 'xx'")
    assert r.stderr.count("\n") == 1, repr(r.stderr)
    nope = tmp_path / "nope"
    r = runner.invoke(app, ["train", "-c", "tiny", "-o", str(tmp_path / "r"), "--set",
                            f"data.train=[{nope}]", "--set", "data.workers=0"])  # fmt: skip
    assert r.exit_code == 1 and r.stderr == f"error: {nope}: no such LMDB\n"
    # a bar that finishes still shows its last state on a non-terminal stderr
    r = runner.invoke(app, ["synth", "words", "-o", str(tmp_path / "ok"), "--num", "3",
                            "--lang", "en", "--workers", "1"])  # fmt: skip
    assert r.exit_code == 0 and "3/3" in r.stderr
