"""`generalbench weights list|fetch|verify|make-tiny` through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"HF_HUB_CACHE": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1",
            "GENERALBENCH_WEIGHTS": str(tmp_path / "w"), **extra}


def test_list_json_names_every_metric_model(cli, tmp_path: Path) -> None:
    res = cli("weights", "list", "--json", env=_env(tmp_path))
    assert res.code == 0, res.err
    rows = {r["model"]: r for r in json.loads(res.out)}
    assert "fid" in rows["pt-inception-fid"]["metrics"] and rows["pt-inception-fid"]["status"] == "missing"
    assert rows["clip-vit-base-patch32"]["source"] == "hub:openai/clip-vit-base-patch32@main"
    for model in ("dnsmos", "whisper-tiny-en-ct2", "smollm2-135m-instruct-gguf"):
        assert rows[model]["status"] in {"package", "missing"}


def test_fetch_and_verify_fail_with_one_clear_line(cli, tmp_path: Path) -> None:
    res = cli("weights", "fetch", "clip_score", "--dest", tmp_path / "d", env=_env(tmp_path))
    assert res.code == 2 and res.err.startswith("error: model 'clip-vit-base-patch32'")
    assert len(res.err.strip().splitlines()) == 1
    res = cli("weights", "verify", "fid", env=_env(tmp_path))
    assert res.code == 2 and "metric" not in res.err.split(":")[0] and "pt-inception-fid" in res.err
    res = cli("weights", "fetch", "vbench", env=_env(tmp_path))
    assert res.code == 2 and "no files of its own to fetch" in res.err
    assert not (tmp_path / "w" / "vbench").exists()  # nothing left behind to be mistaken for weights
    res = cli("weights", "fetch", "vgish", env=_env(tmp_path))
    assert res.code == 2 and "did you mean 'vggish'" in res.err


def test_verify_flags_tampered_weights(cli, tmp_path: Path) -> None:
    bad = tmp_path / "vggish.pth"
    bad.write_bytes(b"not the published weights")
    res = cli("weights", "verify", "vggish", "--path", bad, env=_env(tmp_path))
    assert res.code == 2 and "MISMATCH" in res.out and "do not match" in res.err
