"""Live progress: one bar per task and one overall, with rate, ETA, errors, retries and timeouts.

On a terminal the bars are drawn by Rich; when stderr is not a terminal (a log file, CI, nohup)
one plain line is printed every `interval` seconds instead, so a long run is never silent. The
rate counts only instances answered in this run, over the time since requests began: cached
answers from the journal are shown, never counted as speed. `quiet` shows nothing live; the run
summary is printed either way by the command.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import IO, Any


class _Counts:
    __slots__ = ("total", "cached", "done", "errors", "retries", "timeouts")

    def __init__(self, total: int = 0, cached: int = 0) -> None:
        self.total, self.cached = total, cached
        self.done = self.errors = self.retries = self.timeouts = 0


def rate_text(done: int, seconds: float) -> str:
    """Instances per second (or per minute for slow servers); '-' before anything is answered."""
    if done <= 0 or seconds <= 0:
        return "-"
    rate = done / seconds
    return f"{rate:.1f}/s" if rate >= 1 else f"{rate * 60:.1f}/min"


class RunProgress:
    def __init__(self, quiet: bool = False, console: Any = None, *, interval: float = 30.0,
                 stream: IO[str] | None = None) -> None:
        self.quiet = quiet
        self.interval = interval
        self._counts: dict[str, _Counts] = {}
        self._all = _Counts()
        self._bars: dict[str, Any] = {}
        self._progress: Any = None
        self._stream = stream or sys.stderr
        self._start: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if quiet:
            return
        tty = console is not None or (hasattr(self._stream, "isatty") and self._stream.isatty())
        if not tty:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._progress = Progress(
            TextColumn("{task.description}", justify="left"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>9}"), TextColumn("{task.fields[eta]:>9}"),
            TextColumn("err {task.fields[errors]} retries {task.fields[retries]} timeouts "
                       "{task.fields[timeouts]} cached {task.fields[cached]}"),
            console=console or Console(stderr=True), transient=False, refresh_per_second=4)
        self._overall = self._progress.add_task("overall", total=0, **self._fields(self._all))

    # --- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> RunProgress:
        self._start = time.monotonic()  # requests start right after the tasks are added
        if self._progress is not None:
            self._progress.start()
        elif not self.quiet and self.interval > 0:
            self._thread = threading.Thread(target=self._log_loop, name="progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
        if self._thread is not None:
            self._stop.set()
            self._thread.join()

    # --- events ----------------------------------------------------------------------------
    def add_task(self, task_id: str, total: int, cached: int) -> None:
        """Add `total` instances of a task, `cached` of them answered in the journal; called
        again for the same task as its prompts are rendered (the run starts before planning
        ends), each call adds to the task's counts."""
        c = self._counts.get(task_id)
        if c is None:
            c = self._counts[task_id] = _Counts()
        c.total += total
        c.cached += cached
        self._all.total += total
        self._all.cached += cached
        if self._progress is None:
            return
        bar = self._bars.get(task_id)
        if bar is not None:
            self._progress.update(bar, total=c.total, completed=c.cached + c.done,
                                  visible=True, **self._fields(c))
        elif c.cached < c.total:  # tasks answered entirely from the journal get no bar of their own
            self._bars[task_id] = self._progress.add_task(
                task_id[:48], total=c.total, completed=c.cached + c.done, **self._fields(c))
        self._progress.update(self._overall, total=self._all.total,
                              completed=self._all.cached + self._all.done, **self._fields(self._all))

    def advance(self, task_id: str, ok: bool) -> None:
        self._begin()
        for c in (self._counts.get(task_id), self._all):
            if c is not None:
                c.done += 1
                c.errors += not ok
        self._redraw(task_id, advance=True)

    def failed_attempt(self, task_id: str, *, retrying: bool, timeout: bool) -> None:
        """A failed attempt, shown live (a slow server's timeouts appear as they happen, long
        before any instance has used up its retries)."""
        self._begin()
        for c in (self._counts.get(task_id), self._all):
            if c is not None:
                c.retries += retrying
                c.timeouts += timeout
        self._redraw(task_id, advance=False)

    # --- drawing ---------------------------------------------------------------------------
    def _begin(self) -> None:
        if self._start is None:
            self._start = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self._start if self._start is not None else 0.0

    def _eta(self, c: _Counts) -> str:
        left = c.total - c.cached - c.done
        if not c.done or left <= 0:
            return "-"
        seconds = left * self.elapsed() / c.done
        return f"{seconds / 60:.0f}m left" if seconds >= 120 else f"{seconds:.0f}s left"

    def _fields(self, c: _Counts) -> dict[str, Any]:
        # rate and ETA from this run's answers only (Rich's own speed would count the cached
        # answers as done in the first instant: "2830 inst/s" for a 124 s run)
        return {"rate": rate_text(c.done, self.elapsed()), "eta": self._eta(c), "errors": c.errors,
                "retries": c.retries, "timeouts": c.timeouts, "cached": c.cached}

    def _redraw(self, task_id: str, *, advance: bool) -> None:
        p = self._progress
        if p is None:
            return
        for key, bar in ((task_id, self._bars.get(task_id)), ("", self._overall)):
            if bar is None:
                continue
            c = self._counts[key] if key else self._all
            finished = key and c.cached + c.done >= c.total
            # a finished task's bar goes away, keeping the display to the tasks in progress
            p.update(bar, advance=1 if advance else 0, visible=not finished or c.errors > 0,
                     **self._fields(c))

    def line(self) -> str:
        """One plain progress line (what a log file gets every `interval` seconds)."""
        a = self._all
        finished = a.cached + a.done
        left = a.total - finished
        eta = ""
        if a.done and left > 0:
            eta = f", about {left * self.elapsed() / a.done / 60:.1f} min left"
        return (f"progress: {finished}/{a.total} instances ({a.cached} from the journal), "
                f"{rate_text(a.done, self.elapsed())}, {a.errors} failed, {a.retries} retries, "
                f"{a.timeouts} timeouts, {self.elapsed():.0f}s{eta}")

    def _log_loop(self) -> None:
        while not self._stop.wait(self.interval):
            print(self.line(), file=self._stream, flush=True)
