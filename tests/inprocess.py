"""Run the CLI in this process through `generalbench.cli.main` (no interpreter start per call).

The fuzz and error-case tests make hundreds of calls; a subprocess each would take minutes.
`main()` is the console-script entry point itself, so exit codes and stderr are the real ones.
"""

from __future__ import annotations

import contextlib
import io
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Outcome:
    code: int
    out: str
    err: str
    crash: str | None = None
    """The traceback when an exception escaped `main()` (a bug: users must never see one)."""

    @property
    def one_clear_line(self) -> bool:
        lines = [x for x in self.err.splitlines() if x.strip()]
        return (self.crash is None and self.code == 2 and len(lines) == 1
                and lines[0].startswith("error: ") and "Traceback" not in self.err)


def call(*args: str | Path) -> Outcome:
    from generalbench import cli

    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["generalbench", *map(str, args)]
    crash = None
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            cli.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - recorded: the test asserts there is none
        crash = traceback.format_exc()
        code = 1
    finally:
        sys.argv = argv
        cli._state["debug"] = False
    return Outcome(code, out.getvalue(), err.getvalue(), crash)
