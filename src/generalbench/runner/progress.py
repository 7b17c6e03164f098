"""Live progress: one bar per task and one overall, with rate, ETA, errors and cache hits.

`quiet` (CI) shows nothing live; the run summary is printed either way by the command.
"""

from __future__ import annotations

from typing import Any


class RunProgress:
    def __init__(self, quiet: bool = False, console: Any = None) -> None:
        self.quiet = quiet
        self._bars: dict[str, Any] = {}
        self._counts: dict[str, list[int]] = {}
        self._progress = None
        if quiet:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}", justify="left"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>7} inst/s"), TimeRemainingColumn(),
            TextColumn("err {task.fields[errors]} cached {task.fields[cached]}"),
            console=console or Console(stderr=True), transient=False, refresh_per_second=4)
        self._overall = self._progress.add_task("overall", total=0, rate="-", errors=0, cached=0)
        self._counts["__all__"] = [0, 0]

    def __enter__(self) -> RunProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def add_task(self, task_id: str, total: int, cached: int) -> None:
        if self._progress is None:
            return
        p = self._progress
        self._counts[task_id] = [0, cached]
        if cached < total:  # tasks answered entirely from the journal get no bar of their own
            self._bars[task_id] = p.add_task(task_id[:48], total=total, completed=cached,
                                             rate="-", errors=0, cached=cached)
        t = p.tasks[self._overall]
        self._counts["__all__"][1] += cached
        p.update(self._overall, total=(t.total or 0) + total, completed=t.completed + cached,
                 cached=self._counts["__all__"][1])

    def advance(self, task_id: str, ok: bool) -> None:
        if self._progress is None:
            return
        p = self._progress
        for bar_key, bar in ((task_id, self._bars.get(task_id)), ("__all__", self._overall)):
            if bar is None:
                continue
            counts = self._counts[bar_key]
            if not ok:
                counts[0] += 1
            p.advance(bar)
            speed = p.tasks[bar].speed
            done = p.tasks[bar].finished and bar_key != "__all__"
            # a finished task's bar goes away, keeping the display to the tasks in progress
            p.update(bar, errors=counts[0], rate=f"{speed:.1f}" if speed else "-",
                     visible=not done or counts[0] > 0)
