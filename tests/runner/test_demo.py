"""`generalbench demo` end to end, with a tiny local Llama standing in for SmolLM2 (same preset
shape: an hf model for language tasks, the reference baselines for the rest)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli

pytest.importorskip("transformers")


@pytest.mark.slow
def test_demo_generates_the_minibench_runs_scores_and_reports(tmp_path):
    from generalbench.models.tiny import build_tiny_llama

    model = build_tiny_llama(tmp_path / "tiny")
    cfg = tmp_path / "model.yaml"
    cfg.write_text(f"name: tiny-llama\nbackend: hf\nparams: {{path: {model}, batch_size: 4}}\n"
                   "generation: {max_tokens: 4}\nsupports: {modalities: [language]}\n"
                   "fallback: {name: reference-baselines, backend: baseline}\n")
    env = {"GENERALBENCH_CACHE": str(tmp_path / "cache")}
    res = run_cli("demo", "--model", cfg, "--out", tmp_path / "run", "--quick", "2", "--quiet",
                  env=env)
    assert res.code == 0, res.err
    assert (tmp_path / "cache" / "mini-bench" / "minibench.json").exists()
    out = tmp_path / "run"
    info = json.loads((out / "run-info.json").read_text())
    routes = info["manifest"]["routes"]
    assert {t for t, m in routes.items() if m == "tiny-llama"} == \
        {t for t in routes if t.startswith("language-")}
    assert info["summary"]["failed"] == 0
    # tasks the baselines have nothing for (depth, masks, text-to-audio, ...) are unsupported:
    # no task file, no route, so the run folder passes `validate`
    unsupported = set(info["summary"]["unsupported"])
    assert unsupported and unsupported.isdisjoint(routes)
    assert not any(t.startswith("language-") for t in unsupported)
    assert not any((out / f"{t}.jsonl").exists() for t in unsupported)
    # the restoration baseline returns a copy of the degraded input, stored in the run
    rows = [json.loads(x) for x in (out / "image-generation-image-deblurring.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all((out / r["prediction"]).is_file() for r in rows)
    report = json.loads((out / "score" / "report.json").read_text())
    assert report["model"] == "tiny-llama" and set(report["scores"]) >= {"level2", "level5"}
    assert "General-Level" in res.out and "report:" in res.err
    assert "<svg" in (out / "report.html").read_text()  # demo writes the HTML report
    # again: everything comes from the journal
    res = run_cli("demo", "--model", cfg, "--out", out, "--quick", "2", "--quiet", env=env)
    assert res.code == 0 and " 0 answered" in res.err
