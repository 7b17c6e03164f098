"""The files `generalbench score --out` writes: instances.jsonl, tasks.json / tasks.csv, report.json.

Every file carries provenance: the run-level record (generalbench version and git commit,
catalog version and hash, the run's model config hash) and, per task, what produced its number
(metric implementation, library versions, metric model and weights sha256, judge model and rubric
sha256, failure policy and counts). A reader of any number can tell exactly what produced it.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import subprocess
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import generalbench
from generalbench.levels import LevelResult


@lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The commit of the checkout generalbench is installed from (None for a wheel install)."""
    root = Path(generalbench.__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def run_provenance(catalog_info: Mapping[str, str], manifest: Mapping[str, Any] | None
                   ) -> dict[str, Any]:
    """The run-level provenance record (the same in every output of one `score`)."""
    config = (manifest or {}).get("model_config") or (manifest or {}).get("config")
    config_hash = None
    if config is not None:
        config_hash = hashlib.sha256(json.dumps(config, sort_keys=True, default=str)
                                     .encode()).hexdigest()
    elif manifest and manifest.get("model_fingerprint"):
        config_hash = str(manifest["model_fingerprint"])
    return {"generalbench": generalbench.__version__, "git_commit": git_commit(),
            "catalog": dict(catalog_info), "model_config_sha256": config_hash}


def _make_encoder() -> Callable[[Any], str]:
    """`json.dumps(value, ensure_ascii=False, default=str)`, with its C encoder built once.

    `json.dumps` with options builds a new JSONEncoder per call, and JSONEncoder builds a new C
    encoder per value (a third of the cost of a short row); the C encoder is the same one
    `dumps` uses, so the text is identical. Where it is missing or answers otherwise than `dumps`
    on a sample (another interpreter, a changed private signature): the public encoder.
    """
    from json import encoder as je

    plain = json.JSONEncoder(ensure_ascii=False, default=str, check_circular=False).encode
    try:  # c_make_encoder is CPython's private accelerator: used only if it answers as dumps does
        c_encode = je.c_make_encoder(None, str, je.encode_basestring, None, ": ", ", ", False,
                                     False, True)
        sample = {"a": [1, 2.5, None, True, "é\n"], "b": {"c": float("inf")}, "d": (Path("x"),)}
        if "".join(c_encode(sample, 0)) != json.dumps(sample, ensure_ascii=False, default=str):
            return plain
    except (TypeError, ValueError):  # None (another interpreter) or a changed signature
        return plain

    def encode(value: Any) -> str:
        if isinstance(value, (dict, list, tuple)):
            return "".join(c_encode(value, 0))
        return plain(value)  # a bare str or number: the C encoder only takes containers

    return encode


_ENCODE = _make_encoder()
_STATUS = {s: json.dumps(s) for s in ("ok", "failed", "missing")}
"""The statuses, encoded once."""
EMPTY = '""'
"""An empty reason (an ok row's), encoded."""
WRITE_BUFFER = 1 << 20


def _encode_row(row: Any) -> str:
    """One instances.jsonl line, through the encoder (the general case)."""
    return _ENCODE({"task": row.task, "id": row.id, "status": row.status, "score": row.score,
                    "reason": row.reason, "parsed": row.parsed}) + "\n"


def encode_rows(rows: Iterable[Any]) -> str:
    """instances.jsonl lines (one per scored instance) of rows with task, id, status, score,
    reason and parsed: encoded directly, no dataclasses.asdict per row.

    A row whose fields are strings, a finite float score or None, and a string or None answer
    (nearly all) is put together from its encoded strings: the text `json.dumps` of the row's
    dict gives (the same string encoder, float repr and separators), without building and
    walking a dict per row; any other row goes through the encoder.
    """
    from json.encoder import encode_basestring as q  # the C string encoder (ensure_ascii=False)

    from generalbench.data.fastjson import dumps as fast_dumps

    out: list[str] = []
    add = out.append
    task_key = task_text = None
    reprs: dict[float, str] = {}
    for row in rows:
        task, iid, status, score, reason, parsed = (row.task, row.id, row.status, row.score,
                                                    row.reason, row.parsed)
        if (type(task) is not str or type(iid) is not str or type(status) is not str
                or type(reason) is not str):
            add(_encode_row(row))
            continue
        if score is None:
            score_text = "null"
        elif type(score) is float and math.isfinite(score):
            score_text = reprs.get(score)  # scores repeat (0, 100, 50, ...): repr'd once each
            if score_text is None or not score:  # 0.0 and -0.0: one key, two texts
                score_text = float.__repr__(score)
                if score:
                    reprs[score] = score_text
        else:
            add(_encode_row(row))
            continue
        if parsed is None:
            parsed_text = "null"
        elif type(parsed) is str:
            parsed_text = q(parsed)
        elif type(parsed) is list and parsed and type(parsed[0]) is not str:
            parsed_text = fast_dumps(parsed) or _ENCODE(parsed)  # boxes, tracks: orjson writes
        else:                                                     # numbers several times faster
            parsed_text = _ENCODE(parsed)
        if task is not task_key:
            task_key, task_text = task, q(task)
        add(f'{{"task": {task_text}, "id": {q(iid)}, "status": {_STATUS.get(status) or q(status)}, '
            f'"score": {score_text}, "reason": {q(reason) if reason else EMPTY}, '
            f'"parsed": {parsed_text}}}\n')
    return "".join(out)


def dump_lines(value: Any) -> str:
    """JSON with one top-level item per line (a list's records, an object's keys): as easy to
    read and diff as `indent=1`, but each item goes through the C encoder (indent is pure
    Python, ~10x slower on a 700-task table)."""
    if isinstance(value, list):
        return "[\n" + ",\n".join(_ENCODE(v) for v in value) + "\n]\n"
    if isinstance(value, dict):
        return ("{\n" + ",\n".join(f"{_ENCODE(str(k))}: {_ENCODE(v)}" for k, v in value.items())
                + "\n}\n")
    return _ENCODE(value) + "\n"


class RowSink:
    """instances.jsonl written as tasks are scored (memory: the rows of one task, not of the
    run), through one buffered handle, under a temporary name until `close` puts it in place."""

    def __init__(self, out_dir: Path):
        out_dir.mkdir(parents=True, exist_ok=True)
        self.path = out_dir / "instances.jsonl"
        self._part = out_dir / "instances.jsonl.part"
        self._fh = open(self._part, "w", encoding="utf-8", buffering=WRITE_BUFFER)  # noqa: SIM115

    def write(self, text: str) -> None:
        """One task's rows, as `encode_rows` gives them."""
        self._fh.write(text)

    def close(self) -> None:
        self._fh.close()
        os.replace(self._part, self.path)

    def discard(self) -> None:
        """The run failed: remove the partial file."""
        self._fh.close()
        self._part.unlink(missing_ok=True)


def write_outputs(out_dir: Path, result: LevelResult, details: Mapping[str, Any]) -> None:
    """tasks.json / tasks.csv and report.json (instances.jsonl is the RowSink's, written task by
    task while scoring)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    table = []
    for ts in result.tasks or []:
        d = details.get(ts.id)
        extra = d.details if d else {}
        table.append({"id": ts.id, "name": ts.name, "modality": ts.modality,
                      "paradigm": ts.paradigm, "metric": ts.metric, "metric_name": ts.metric_name,
                      "raw": ts.raw, "normalised": ts.normalised, "sota": ts.sota,
                      "sota_normalised": ts.sota_normalised, "supported": ts.supported,
                      "win": ts.win, "instances": d.instances if d else 0,
                      "parsed": d.parsed if d else 0, "failed": d.failed if d else 0,
                      "missing": d.missing if d else 0, "note": d.note if d else None,
                      "error": d.error if d else None,
                      "failure_policy": extra.get("failure_policy"),
                      "dropped": extra.get("dropped", 0),
                      "provenance": extra.get("provenance") or None,
                      "details": {k: v for k, v in extra.items()
                                  if k not in ("provenance", "failure_policy", "dropped")}})
    run_prov = result.provenance or {}
    for rec in table:
        rec["run_provenance"] = run_prov
    (out_dir / "tasks.json").write_text(dump_lines(table), encoding="utf-8")
    with open(out_dir / "tasks.csv", "w", encoding="utf-8", newline="") as fh:
        if table:
            writer = csv.DictWriter(fh, fieldnames=list(table[0]))
            writer.writeheader()
            for rec in table:  # nested records as one JSON cell each
                writer.writerow({k: (json.dumps(v, sort_keys=True, default=str)
                                     if isinstance(v, dict) else v) for k, v in rec.items()})
    report = result.model_dump()
    report["task_provenance"] = {rec["id"]: rec["provenance"] for rec in table if rec["provenance"]}
    (out_dir / "report.json").write_text(dump_lines(report), encoding="utf-8")
