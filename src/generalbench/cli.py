"""The `generalbench` command line: a thin typer layer over the library, no logic of its own.

Every user-facing failure is a GeneralBenchError, shown as one line on stderr with exit code 2;
`--debug` shows the traceback instead.
"""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from generalbench import __version__
from generalbench.errors import GeneralBenchError

app = typer.Typer(
    name="generalbench",
    help="Evaluate multimodal generalists on General-Bench and score them with General-Level.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

_state = {"debug": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"generalbench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    _state["debug"] = debug


CatalogExtra = Annotated[list[Path] | None, typer.Option(
    "--catalog-extra", help="Extra task catalog (CSV/JSON/YAML) adding tasks or modalities.")]
SotaOverrides = Annotated[list[Path] | None, typer.Option(
    "--sota-overrides", help="File of task -> sota updating specialist scores.")]


def load_catalog_opts(extra: list[Path] | None, overrides: list[Path] | None):
    from generalbench.catalog import load_catalog

    return load_catalog(extra or (), overrides or ())


# --- commands -------------------------------------------------------------------------------
from generalbench.commands import register_all  # noqa: E402

register_all(app)


def _for_command(args: list[str]) -> typer.Typer:
    """The app holding only the command `args` runs, when args start with a command's name.

    Typer builds every command's options from its signature on each call (tens of ms for all
    the commands, a tenth of `level` on a 100-model file); the command run is the only one
    needed, with the same options, help and errors. Anything else (root options first, a group,
    no or an unknown command) gets the whole app.
    """
    hits = [c for c in app.registered_commands if args and c.name == args[0]]
    if len(hits) != 1:
        return app
    one = copy.copy(app)
    one.registered_commands, one.registered_groups = hits, []
    return one


PYDANTIC_PLUGINS_OFF = ("PYDANTIC_DISABLE_PLUGINS", "__all__")
"""The command line runs without pydantic plugins unless PYDANTIC_DISABLE_PLUGINS is set: pydantic
looks plugins up in every installed package's entry points at the first model it builds (20-40 ms
of every command's start-up, and `level`'s budget is 0.5 s), and none of generalbench's models is
meant to be observed by one. Set PYDANTIC_DISABLE_PLUGINS= (empty) to have them loaded."""


def main() -> None:
    """Console-script entry point: run the app, turning user errors into one clear line."""
    os.environ.setdefault(*PYDANTIC_PLUGINS_OFF)
    try:
        code = _for_command(sys.argv[1:])(standalone_mode=False)
    except GeneralBenchError as exc:
        if _state["debug"]:
            raise
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except typer.TyperException as exc:  # click's usage errors: bad option values, missing arguments
        code = getattr(exc, "exit_code", 2)
        if type(exc).__name__ == "NoArgsIsHelpError":  # `generalbench` alone: the help text
            exc.show()
            sys.exit(code)
        ctx = getattr(exc, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        message = " ".join(exc.format_message().split())  # one line, however click wraps it
        typer.echo(f"error: {message}{hint}", err=True)
        sys.exit(code)
    if isinstance(code, int) and code:
        sys.exit(code)


if __name__ == "__main__":
    main()
