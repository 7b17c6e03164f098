"""main() builds only the command it runs (cli._for_command): the same help, options and errors
as the whole app, without typer building every other command's options."""

from __future__ import annotations

import pytest
import typer.main

from generalbench import cli
from tests.inprocess import call


@pytest.mark.parametrize("args", [["level", "--help"], ["score", "--help"], ["level"],
                                  ["level", "x.csv", "--bogus"], ["tasks", "--format", "bogus"]])
def test_same_output_as_the_whole_app(args, monkeypatch):
    one = call(*args)
    monkeypatch.setattr(cli, "_for_command", lambda _: cli.app)
    whole = call(*args)
    assert (one.code, one.out, one.err) == (whole.code, whole.out, whole.err)
    assert one.crash is None


def test_only_the_command_run_is_built(monkeypatch):
    built = []
    get_command = typer.main.get_command_from_info

    def counting(*args, **kw):
        info = kw.get("command_info", args[0] if args else None)
        built.append(info.name)
        return get_command(*args, **kw)

    monkeypatch.setattr(typer.main, "get_command_from_info", counting)
    assert call("level", "--help").code == 0
    assert built == ["level"]


@pytest.mark.parametrize("args", [[], ["--debug", "level"], ["weights"], ["levl"], ["--help"]])
def test_anything_else_gets_the_whole_app(args):
    assert cli._for_command(args) is cli.app
