"""CodeBLEU: independent of PYTHONHASHSEED, 0 for empty predictions, the package's value where
the package is itself deterministic."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

import generalbench
from generalbench.metrics import compute, compute_detailed

pytest.importorskip("codebleu")

NAMES = ["alpha", "beta", "gam", "delta", "eps", "zeta", "eta", "theta"]


def _corpus(seed: int = 1, n: int = 30) -> tuple[list[str], list[str]]:
    """Python functions with branches and loops: variables defined on several paths get merged
    parent lists, where the codebleu package's set order shows (its data-flow match varies
    0.5918-0.5957 over PYTHONHASHSEED 0-5 on this corpus)."""
    rng = random.Random(seed)

    def stmt(indent: str) -> str:
        return f"{indent}{rng.choice(NAMES)} = {' + '.join(rng.sample(NAMES, 3))}"

    def function() -> str:
        lines = ["def f(alpha, beta, gam, delta):"]
        for _ in range(3):
            k = rng.random()
            if k < 0.3:
                lines.append(f"    if {rng.choice(NAMES)} > {rng.choice(NAMES)}:")
                lines += [stmt("        "), stmt("        "), "    else:",
                          stmt("        "), stmt("        ")]
            elif k < 0.6:
                lines.append(f"    for {rng.choice(NAMES)} in range({rng.choice(NAMES)}):")
                lines += [stmt("        ") for _ in range(3)]
            else:
                lines.append(f"    while {rng.choice(NAMES)} < {rng.choice(NAMES)}:")
                lines += [stmt("        ") for _ in range(2)]
            lines.append(stmt("    "))
        lines.append("    return " + " * ".join(rng.sample(NAMES, 3)))
        return "\n".join(lines) + "\n"

    refs = [function() for _ in range(n)]
    return [function() for _ in range(n)], refs


_CHILD = """
import json, sys
sys.path.insert(0, sys.argv[1])
from tests_codebleu_corpus import corpus
from generalbench.metrics import compute_detailed
preds, refs = corpus()
print(json.dumps(compute_detailed("codebleu", preds, refs).details))
"""


def test_codebleu_does_not_depend_on_hash_seed(tmp_path):
    # The child imports this module's corpus builder from a copy, so both processes score the
    # same files; only PYTHONHASHSEED differs.
    (tmp_path / "tests_codebleu_corpus.py").write_text(
        "import random\n" + f"NAMES = {NAMES!r}\n"
        + _corpus_source() + "\ncorpus = _corpus\n")
    src = str(Path(generalbench.__file__).resolve().parents[1])
    outs = []
    for seed in ("0", "4"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": src}
        run = subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path)], env=env,
                             capture_output=True, text=True, timeout=300, check=True)
        outs.append(json.loads(run.stdout.strip().splitlines()[-1]))
    assert outs[0] == outs[1]
    assert 0.0 < outs[0]["dataflow_match_score"] < 1.0


def _corpus_source() -> str:
    import inspect

    return inspect.getsource(_corpus)


def test_codebleu_empty_predictions_score_zero():
    preds, refs = _corpus(n=4)
    # The package replaces a data-flow match of 0 by 1 and gives 25 here.
    assert compute("codebleu", [None] * 4, refs) == 0.0
    assert compute("codebleu", [""] * 4, refs) == 0.0
    assert compute("codebleu", refs, refs) == pytest.approx(100.0)


def test_codebleu_without_reference_data_flow_rescales_the_other_weights():
    # `pass` has no data-flow edge: the component is left out, not counted as a perfect 1.
    code = ["import os\nimport sys\n"]
    res = compute_detailed("codebleu", code, code)
    assert "dataflow_match_score" not in res.details
    d = res.details
    parts = (d["ngram_match_score"], d["weighted_ngram_match_score"], d["syntax_match_score"])
    assert res.value == pytest.approx(100 * sum(parts) / 3)
    assert compute("codebleu", [""], code) == 0.0


def test_codebleu_equals_the_package_on_a_deterministic_case():
    from codebleu import calc_codebleu

    preds, refs = _corpus(seed=7, n=6)
    expected = calc_codebleu([[r] for r in refs], preds, lang="python")
    got = compute_detailed("codebleu", preds, refs).details
    for key in ("ngram_match_score", "weighted_ngram_match_score", "syntax_match_score"):
        assert got[key] == pytest.approx(expected[key])
