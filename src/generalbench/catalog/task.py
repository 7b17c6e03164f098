"""The Task model: one General-Bench task as the catalog describes it."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict

Modality = str
"""image, video, audio, 3d, language, or a modality an extra catalog adds."""
Paradigm = Literal["comprehension", "generation", "language"]

MODALITIES: tuple[str, ...] = ("image", "video", "audio", "3d")
MODALITY_ALIASES: dict[str, str] = {"nlp": "language"}
"""Other spellings of a modality, accepted everywhere a user names one: the published dataset
calls the language folder `nlp`, the catalog and the levels call it `language`."""
"""The four modalities that General-Level averages with equal weight (language feeds Level-5)."""

SHEET_NAMES: dict[tuple[str, str], str] = {
    ("language", "language"): "NLP",
    ("image", "comprehension"): "Image-Comprehension",
    ("image", "generation"): "Image-Generation",
    ("video", "comprehension"): "Video-Comprehension",
    ("video", "generation"): "Video-Generation",
    ("audio", "comprehension"): "Audio-Comprehension",
    ("audio", "generation"): "Audio-Generation",
    ("3d", "comprehension"): "3D-Comprehension",
    ("3d", "generation"): "3D-Generation",
}
"""Official workbook sheet per (modality, paradigm), in the official sheet order."""


def slugify(text: str) -> str:
    """Lower-case ASCII slug: runs of anything but letters and digits become one hyphen."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def clean_name(name: str) -> str:
    """Display name: trimmed, full-width brackets folded, editorial notes in CJK removed."""
    text = name.replace("（", "(").replace("）", ")")
    text = re.sub(r"\s*\([^)]*[\u4e00-\u9fff][^)]*\)", "", text)
    return re.sub(r"\s+", " ", text).strip()


def make_task_id(modality: str, paradigm: str, name: str) -> str:
    """Stable id: slug of modality, paradigm and clean name (language tasks omit the paradigm)."""
    parts = [modality] if paradigm == "language" else [modality, paradigm]
    return "-".join([*parts, slugify(clean_name(name))])


class Task(BaseModel):
    """One task of the catalog. Immutable; scores refer to it by `id`."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    task_name: str
    """Exact original spelling (stray spaces and notes kept) used to match official workbooks."""
    short_name: str
    sheet: str
    no: int | None = None
    modality: Modality
    paradigm: Paradigm
    skill: str
    metric_name: str
    """Exact original spelling of the metric (the workbook's `Metrics` cell)."""
    metric: str
    """Canonical metric id (metrics/specs.yaml)."""
    unit: Literal["percent", "raw"]
    direction: Literal["higher", "lower"]
    output: str
    """Native prediction type (docs/data-format.md)."""
    sota: float
    """State-of-the-art specialist score, in the metric's reported unit."""

    @property
    def group(self) -> str:
        """'image/comprehension', ..., or 'language'."""
        return "language" if self.paradigm == "language" else f"{self.modality}/{self.paradigm}"
