"""CLI commands, one module per command family, each exposing `register(app)`.

Keeping each family in its own module lets catalog, data, scoring and runs evolve without
editing one shared file; cli.py only wires them together.
"""

from __future__ import annotations

import importlib

import typer

COMMAND_MODULES = [
    "generalbench.commands.catalog_cmd",
    "generalbench.commands.level_cmd",
    "generalbench.commands.data_cmd",
    "generalbench.commands.score_cmd",
    "generalbench.commands.weights_cmd",
    "generalbench.commands.run_cmd",
    "generalbench.commands.minibench_cmd",
    "generalbench.commands.report_cmd",
    "generalbench.commands.server_cmd",
]


def register_all(app: typer.Typer) -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # a family not written yet
                continue
            raise
        module.register(app)
