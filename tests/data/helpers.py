"""Build small dataset trees by hand for the data tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from generalbench.data import media


def write_task(root: Path, rel: str, doc: Any, name: str = "annotation.json") -> Path:
    folder = root / rel
    folder.mkdir(parents=True, exist_ok=True)
    text = doc if isinstance(doc, str) else json.dumps(doc, ensure_ascii=False, indent=1)
    (folder / name).write_text(text, "utf-8")
    return folder


def image(path: Path, value: int = 0, size: tuple[int, int] = (8, 8)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    media.save_image(path, np.full((*size, 3), value, np.uint8))


def wav(path: Path, freq: float = 440.0, rate: int = 8000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(rate // 4) / rate
    media.save_audio(path, 0.3 * np.sin(2 * np.pi * freq * t), rate)
