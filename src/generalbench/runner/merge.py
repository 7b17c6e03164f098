"""Merge shard runs into one run folder whose predictions equal a single-process run's.

Shards must come from the same model fingerprint, data, scope and quick setting, and together
cover shards 0..N-1 exactly once. Predictions are re-sorted by instance id, artifacts copied,
and the journals concatenated (so the merged folder can itself be resumed or re-merged).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from generalbench.atomic import atomic_write_text
from generalbench.errors import GeneralBenchError
from generalbench.runner import sources
from generalbench.runner.journal import Journal, read_journal
from generalbench.runner.run import RUN_FILE

SAME = ("model_config", "data", "scope", "tasks", "quick", "catalog")


def _info(run_dir: Path) -> dict[str, Any]:
    path = run_dir / RUN_FILE
    if not path.is_file():
        raise GeneralBenchError(f"{run_dir}: not a generalbench run folder ({RUN_FILE} missing); "
                                "pass folders written by `generalbench run --shard I/N`")
    try:
        info = json.loads(path.read_text("utf-8"))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError
        raise GeneralBenchError(f"{path}: not valid JSON ({exc}); rerun that shard") from None
    manifest = info.get("manifest") if isinstance(info, dict) else None
    shard = manifest.get("shard") if isinstance(manifest, dict) else None
    if not (isinstance(shard, str) and re.fullmatch(r"\d+/\d+", shard)
            and isinstance(info.get("summary"), dict) and isinstance(manifest.get("model"), str)):
        raise GeneralBenchError(f"{path}: not a shard's run-info (needs 'manifest' with 'model' and "
                                "'shard' I/N, and 'summary'); rerun that shard")
    summary = info["summary"]
    counts_ok = all(type(summary.get(k, 0)) is int for k in  # noqa: E721 - bool is not a count
                    ("instances", "cached", "answered", "failed", "retries", "predictions"))
    maps_ok = all(isinstance(summary.get(k, {}), dict)
                  and all(type(v) is int for v in summary.get(k, {}).values())  # noqa: E721
                  for k in ("errors", "failed_by_task"))
    if not (counts_ok and maps_ok and isinstance(summary.get("error_examples", {}), dict)
            and isinstance(manifest.get("routes", {}), dict)):
        raise GeneralBenchError(f"{path}: field 'summary' has counts of the wrong type; rerun that "
                                "shard")
    return info


def merge_runs(run_dirs: list[Path], out: Path, *, allow_partial: bool = False) -> dict[str, Any]:
    """Merge `run_dirs` into `out`; returns the merged run-info."""
    if not run_dirs:
        raise GeneralBenchError("merge: give at least one run folder")
    infos = [_info(Path(d)) for d in run_dirs]
    first = infos[0]["manifest"]
    for d, info in zip(run_dirs[1:], infos[1:], strict=True):
        for key in SAME:
            if info["manifest"].get(key) != first.get(key):
                raise GeneralBenchError(f"{d}: field {key!r} differs from {run_dirs[0]}; only "
                                        "shards of the same run can be merged")
    shards = [tuple(int(x) for x in i["manifest"]["shard"].split("/")) for i in infos]
    counts = {n for _, n in shards}
    indices = sorted(i for i, _ in shards)
    if len(counts) != 1:
        raise GeneralBenchError(f"merge: shard counts differ ({sorted(counts)})")
    n = counts.pop()
    if len(set(indices)) != len(indices):
        raise GeneralBenchError(f"merge: a shard is given twice ({indices})")
    if indices != list(range(n)) and not allow_partial:
        missing = sorted(set(range(n)) - set(indices))
        raise GeneralBenchError(f"merge: shards {missing} of {n} are missing; run them or pass "
                                "--allow-partial")
    out.mkdir(parents=True, exist_ok=True)
    per_task: dict[str, list[tuple[str, Any]]] = {}
    summary: dict[str, Any] = {"instances": 0, "cached": 0, "answered": 0, "failed": 0,
                               "retries": 0, "predictions": 0, "errors": {}, "failed_by_task": {}}
    routes: dict[str, str] = {}
    with Journal(out / "journal") as journal:
        have = set(journal.done())
        for d, info in zip(run_dirs, infos, strict=True):
            d = Path(d)
            for task_id, rows in sources.read_prediction_rows(d).items():
                per_task.setdefault(task_id, []).extend(rows)
                src = sources.artifacts_dir(d, task_id)
                if src.is_dir():
                    shutil.copytree(src, sources.artifacts_dir(out, task_id), dirs_exist_ok=True)
            for key, rec in read_journal(d / "journal").items():
                if key not in have:
                    journal.append(rec)
            s = info["summary"]
            for k in ("instances", "cached", "answered", "failed", "retries", "predictions"):
                summary[k] += s.get(k, 0)
            for k in ("errors", "failed_by_task"):
                for name, v in s.get(k, {}).items():
                    summary[k][name] = summary[k].get(name, 0) + v
            for name, msg in s.get("error_examples", {}).items():
                summary.setdefault("error_examples", {}).setdefault(name, msg)
            routes.update(info["manifest"].get("routes", {}))
            summary.setdefault("unsupported", s.get("unsupported", []))
            summary.setdefault("missing_data", s.get("missing_data", []))
    for task_id, rows in per_task.items():
        ids = [i for i, _ in rows]
        if len(ids) != len(set(ids)):
            raise GeneralBenchError(f"merge: task {task_id!r} has an instance in two shards; "
                                    "the shards do not come from one partition")
        rows.sort(key=lambda r: sources.natural_key(r[0]))
    summary["tasks"] = len(per_task)
    manifest = dict(first, shard=f"merged {len(indices)}/{n}", routes=routes,
                    merged_from=[str(Path(d).resolve()) for d in run_dirs])
    sources.write_predictions(out, per_task, manifest)
    info = {"manifest": manifest, "summary": dict(summary, out=str(out), model=first["model"])}
    atomic_write_text(out / RUN_FILE, json.dumps(info, indent=2, default=str))
    return info
