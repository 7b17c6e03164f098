"""Atomic outputs: a failed write leaves the old file, no temporary file and one clear error;
a written file has the mode open() would give it (not tempfile's 0600)."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from generalbench.atomic import OutputWriteError, atomic_open, atomic_write_text
from generalbench.levels import evaluate
from generalbench.report.scorefiles import ModelScores
from generalbench.report.workbook import write_workbook


def test_a_failure_mid_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "report.json"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_open(target) as fh:
        fh.write("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_a_full_disk_is_one_clear_error(tmp_path, monkeypatch):
    target = tmp_path / "instances.jsonl"
    atomic_write_text(target, "old")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OutputWriteError, match="disk is full"):
        atomic_write_text(target, "new" * 1000)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["instances.jsonl"]


def test_files_get_the_umask_mode_not_0600(tmp_path, catalog):
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
        scores = ModelScores(model="m", raw={t.id: t.sota for t in list(catalog)[:5]})
        result = evaluate(catalog, scores.raw, model="m")
        xlsx = write_workbook(tmp_path / "out.xlsx", catalog, [scores], [result])
    finally:
        os.umask(old)
    for path in (tmp_path / "a.txt", xlsx):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path
