"""Derive catalog fields (canonical metric, native output, skill) from the official columns.

The rules live in rules.yaml; this module only applies them. The shipped catalog CSV was produced
with these rules (scripts/build_catalog.py); extra catalogs loaded at run time go through the same
rules, so a task added by an operator gets a skill and a metric the same way.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from typing import Any

from generalbench.catalog.task import MODALITY_ALIASES, SHEET_NAMES, Task, clean_name, make_task_id
from generalbench.errors import CatalogError, UnknownMetricError
from generalbench.metrics.specs import get_spec, load_specs


@lru_cache(maxsize=1)
def load_rules() -> dict[str, Any]:
    import yaml  # only extra catalogs derive fields: the shipped catalog never needs PyYAML

    text = resources.files("generalbench.catalog").joinpath("rules.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def _matches(rule: dict[str, Any], sheet: str, metric_name: str, name: str) -> bool:
    if "sheet" in rule and rule["sheet"] != sheet:
        return False
    if "metric" in rule and not re.fullmatch(rule["metric"], metric_name):
        return False
    return not ("name" in rule and not re.search(rule["name"], name, flags=re.IGNORECASE))


def canonical_metric(sheet: str, metric_name: str, name: str) -> str:
    for rule in load_rules()["metric_overrides"]:
        if _matches(rule, sheet, metric_name, name):
            return rule["use"]
    try:
        return get_spec(metric_name.strip()).name
    except UnknownMetricError as exc:
        raise CatalogError(f"task {name!r} ({sheet}): {exc}") from None


def native_output(sheet: str, metric_name: str, name: str, metric: str) -> str:
    for rule in load_rules()["output_overrides"]:
        if _matches(rule, sheet, metric_name, name):
            return rule["output"]
    return load_specs()[metric].output


def skill_of(sheet: str, metric_name: str, name: str) -> str:
    for rule in load_rules()["skills"].get(sheet, []):
        if _matches(rule, sheet, metric_name, name):
            return rule["skill"]
    return "Other"


def task_from_row(row: dict[str, Any], where: str = "") -> Task:
    """Build a Task from an official-style row: modality, paradigm, task_name, metric, sota, ...

    Optional columns (`skill`, `canonical_metric`, `output`, `short_name`, `sheet`, `no`) override
    the derived values, which is how an operator adds a new modality or corrects a skill.
    """
    try:
        raw_modality = str(row["modality"]).strip().lower()
        modality = MODALITY_ALIASES.get(raw_modality, raw_modality)
        if not re.fullmatch(r"[a-z0-9][a-z0-9_]*", modality):
            raise ValueError(f"field 'modality' {row['modality']!r} must be a lower-case word")
        paradigm = str(row.get("paradigm") or "language").strip().lower()
        if modality == "language":
            paradigm = "language"
        task_name = str(row["task_name"])
        metric_name = str(row["metric"])
        sota = float(row["sota"])
    except KeyError as exc:
        raise CatalogError(f"{where}: missing column {exc.args[0]!r}") from None
    except ValueError as exc:
        raise CatalogError(f"{where}: {exc}") from None
    if sota != sota:
        raise CatalogError(f"{where}: field 'sota' is NaN")
    sheet = row.get("sheet") or SHEET_NAMES.get((modality, paradigm))
    if sheet is None:
        sheet = f"{modality.capitalize()}-{paradigm.capitalize()}"
    name = clean_name(task_name)
    metric = row.get("canonical_metric") or canonical_metric(sheet, metric_name, name)
    if metric not in load_specs():
        raise CatalogError(f"{where}: unknown canonical metric {metric!r}")
    spec = load_specs()[metric]
    no = row.get("no")
    return Task(
        id=row.get("id") or make_task_id(modality, paradigm, task_name),
        name=name,
        task_name=task_name,
        short_name=str(row.get("short_name") or name),
        sheet=sheet,
        no=int(no) if no not in (None, "") else None,
        modality=modality,
        paradigm=paradigm,
        skill=row.get("skill") or skill_of(sheet, metric_name, name),
        metric_name=metric_name,
        metric=metric,
        unit=spec.unit,
        direction=spec.direction,
        output=row.get("output") or native_output(sheet, metric_name, name, metric),
        sota=sota,
    )
