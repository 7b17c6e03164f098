"""The command line's shared behaviour: help, version, usage errors and exit codes."""

from __future__ import annotations

from generalbench import __version__


def test_help_lists_every_command(cli):
    res = cli("--help")
    assert res.code == 0
    for command in ("tasks", "metrics", "level", "validate", "download", "split", "score", "run",
                    "merge", "demo", "make-mini", "weights"):
        assert command in res.out


def test_version(cli):
    res = cli("--version")
    assert res.code == 0 and __version__ in res.out


def test_usage_errors_exit_2_without_traceback(cli):
    for args in (("tasks", "--format", "bogus"), ("level",), ("no-such-command",)):
        res = cli(*args)
        assert res.code == 2, args
        assert "Traceback" not in res.err and res.err.startswith("error: ")
        assert len(res.err.strip().splitlines()) == 1, res.err  # one line, not click's usage block
