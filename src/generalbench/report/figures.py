"""The report's charts, drawn with matplotlib: per-modality Level-2/3/4 bars with bootstrap
intervals, the per-skill win heat map and the level probabilities. The HTML report inlines
them as SVG (text as paths: no font or network request); `--figures DIR` writes SVG and PNG.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from generalbench.report.tables import skill_rows
from generalbench.stats.bootstrap import ModelBoot


def _plt() -> Any:
    try:
        import matplotlib
    except ModuleNotFoundError:
        from generalbench.errors import GeneralBenchError

        raise GeneralBenchError("charts need matplotlib: pip install 'generalbench[report]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "path", "svg.hashsalt": "generalbench",
                         "font.size": 9, "axes.spines.top": False, "axes.spines.right": False})
    return plt


def _grouped_bars(boots: Sequence[ModelBoot], panels: Sequence[tuple[str, str]],
                  interval: Callable[[ModelBoot, str, str], tuple[float, float, float]],
                  ylabel: str, figsize: tuple[float, float]) -> Any:
    """One panel per (key, title): bars per modality and model with interval whiskers.

    `interval(boot, modality, key)` gives (value, low, high); the two bar charts differ only in
    what they plot, so the layout lives here once.
    """
    plt = _plt()
    mods = list(boots[0].point.modalities)
    fig, axes = plt.subplots(1, len(panels), figsize=figsize, sharey=True)
    width = 0.8 / max(1, len(boots))
    x = np.arange(len(mods))
    for ax, (key, title) in zip(axes, panels, strict=True):
        for i, b in enumerate(boots):
            v, low, high = np.array([interval(b, m, key) for m in mods], dtype=float).reshape(-1, 3).T
            err = [np.maximum(0.0, v - low), np.maximum(0.0, high - v)]
            ax.bar(x + (i - (len(boots) - 1) / 2) * width, v, width, yerr=err, capsize=2,
                   label=b.model)
        ax.set_xticks(x, mods)
        ax.set_title(title)
    axes[0].set_ylabel(ylabel)
    axes[-1].legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def modality_bars(boots: Sequence[ModelBoot]) -> Any:
    """One panel per level (L2, L3, L4): bars per modality and model, 95% interval whiskers."""
    def level(b: ModelBoot, modality: str, key: str) -> tuple[float, float, float]:
        d = b.modality_interval(modality, key)
        return d["value"], d["low"], d["high"]

    return _grouped_bars(boots, [(k, f"Level-{k[-1]} per modality") for k in
                                 ("level2", "level3", "level4")],
                         level, "score (0-100)", (11, 3.4))


def skill_heatmap(boots: Sequence[ModelBoot]) -> Any:
    """Rows: skills with a supported task; columns: models; colour: mean probability of beating
    the specialist over the skill's scored tasks; text: observed wins / scored (of all) tasks."""
    plt = _plt()
    per = [{(r["modality"], r["paradigm"], r["skill"]): r for r in skill_rows(b)} for b in boots]
    keys = sorted({k for rows in per for k, r in rows.items() if r["supported"]})
    if not keys:
        keys = sorted({k for rows in per for k in rows})[:1]
    data = np.array([[rows[k]["expected_wins"] / max(1, rows[k]["scored"]) for rows in per]
                     for k in keys])
    fig, ax = plt.subplots(figsize=(2.6 + 1.3 * len(boots), 0.8 + 0.24 * len(keys)))
    im = ax.imshow(data, aspect="auto", cmap="viridis", vmin=0, vmax=1)
    short = {"comprehension": " comp.", "generation": " gen."}
    ax.set_yticks(range(len(keys)), [f"{m}{short.get(p, '')} {s}"[:48] for m, p, s in keys],
                  fontsize=7)
    ax.set_xticks(range(len(boots)), [b.model[:24] for b in boots], rotation=20, ha="right")
    for i, k in enumerate(keys):
        for j, rows in enumerate(per):
            r = rows[k]
            ax.text(j, i, f"{r['wins']}/{r['scored']} ({r['tasks']})", ha="center", va="center", fontsize=6,
                    color="white" if data[i, j] < 0.6 else "black")
    fig.colorbar(im, ax=ax, label="P(win), mean over scored tasks", shrink=0.8)
    ax.set_title("Wins against the specialist per skill")
    fig.tight_layout()
    return fig


def level_probabilities(boots: Sequence[ModelBoot]) -> Any:
    """Stacked horizontal bars: the probability of each level per model."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 0.9 + 0.45 * len(boots)))
    left = np.zeros(len(boots))
    names = [b.model[:30] for b in boots]
    for key, label in (("none", "none"), ("2", "Level 2"), ("3", "Level 3"), ("4", "Level 4"),
                       ("5", "Level 5")):
        p = np.array([b.level_probability()[key] for b in boots])
        ax.barh(names, p, left=left, label=label)
        left += p
    ax.set_xlim(0, 1)
    ax.set_xlabel("probability over bootstrap resamples")
    ax.legend(fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.set_title("Level probabilities")
    fig.tight_layout()
    return fig


def comprehension_generation(boots: Sequence[ModelBoot]) -> Any:
    """Per modality: comprehension vs generation mean score per model, 95% interval whiskers."""
    from generalbench.stats.bootstrap import interval

    def group(b: ModelBoot, modality: str, paradigm: str) -> tuple[float, float, float]:
        low, high = interval(b.arrays.groups[(modality, paradigm)].score, b.confidence)
        return getattr(b.point.modalities[modality], paradigm).score, low, high

    return _grouped_bars(boots, [(p, f"{p.capitalize()} score per modality") for p in
                                 ("comprehension", "generation")],
                         group, "mean normalised score", (9, 3.2))


CHARTS = {"modalities": modality_bars, "comprehension-generation": comprehension_generation,
          "skill-wins": skill_heatmap, "level-probability": level_probabilities}
"""Chart name -> drawing function (file names of --figures)."""


def svg_text(fig: Any) -> str:
    """A figure as an inline <svg> element (no XML prolog or DOCTYPE)."""
    import io

    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    _plt().close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def write_figures(boots: Sequence[ModelBoot], folder: Path) -> list[Path]:
    """Every chart as DIR/<name>.svg and DIR/<name>.png."""
    plt = _plt()
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, draw in CHARTS.items():
        fig = draw(boots)
        for ext in ("svg", "png"):
            path = folder / f"{name}.{ext}"
            fig.savefig(path, format=ext, dpi=150)
            written.append(path)
        plt.close(fig)
    return written
