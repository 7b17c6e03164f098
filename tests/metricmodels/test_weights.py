"""Weights resolution, the missing-weights message, hash checks and the real download path."""

from __future__ import annotations

import hashlib
import http.server
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.local_server import serving

from generalbench.errors import MissingWeightsError
from generalbench.metricmodels import registry, weights
from generalbench.metricmodels.registry import ModelEntry, ModelSource


def test_every_metric_model_entry_is_well_formed() -> None:
    models = registry.all_models()
    for name, entry in registry._load()[1].items():
        for key in ("default", "head"):
            if key in entry:
                assert entry[key] in models, (name, key)
    for model in models.values():
        assert model.source.kind in {"hub", "url", "package", "manual"}
        assert model.licence and model.reference
        for digest in model.sha256.values():
            assert len(digest) in (8, 64) and int(digest, 16) >= 0


def test_missing_weights_message_names_metric_model_hash_and_remedies(monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Path) -> None:
    monkeypatch.setenv("GENERALBENCH_WEIGHTS", str(tmp_path))
    with pytest.raises(MissingWeightsError) as err:
        weights.resolve("pt-inception-fid", metric="fid")
    msg = str(err.value)
    assert "metric 'fid'" in msg and "'pt-inception-fid'" in msg
    assert "sha256 prefix 6726825d" in msg and "Apache-2.0" in msg
    assert "weights=<path>" in msg and str(tmp_path / "pt-inception-fid") in msg
    assert "generalbench weights fetch pt-inception-fid" in msg
    assert "\n" not in msg


def test_hub_model_missing_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(MissingWeightsError, match="hub:openai/clip-vit-base-patch32.*GENERALBENCH_WEIGHTS is not set"):
        weights.resolve("clip-vit-base-patch32", metric="clip_score")


def test_resolution_order_explicit_then_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    folder = tmp_path / "w" / "vggish"
    folder.mkdir(parents=True)
    (folder / "vggish-10086976.pth").write_bytes(b"x")
    monkeypatch.setenv("GENERALBENCH_WEIGHTS", str(tmp_path / "w"))
    found = weights.resolve("vggish")
    assert found.origin == "weights-folder" and found.file() == folder / "vggish-10086976.pth"
    explicit = tmp_path / "mine.pth"
    explicit.write_bytes(b"y")
    found = weights.resolve("vggish", path=explicit)
    assert found.origin == "explicit" and found.file() == explicit


def test_explicit_path_that_does_not_hold_the_model_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(MissingWeightsError, match="not there"):
        weights.resolve("clip-vit-base-patch32", path=tmp_path)  # no config.json
    with pytest.raises(MissingWeightsError, match="no such path"):
        weights.resolve("vggish", path=tmp_path / "absent.pth", metric="fad")


def test_package_weights_are_found_and_verified() -> None:
    pytest.importorskip("onnxruntime")
    try:
        found = weights.resolve("dnsmos")
    except MissingWeightsError:
        pytest.skip("speechmos is not installed (pip install speechmos)")
    assert found.origin == "package"
    checks = weights.verify(found)
    assert [c.ok for c in checks if c.name == "sig_bak_ovr.onnx"] == [True]


def test_verify_detects_mismatch_and_accepts_prefix(tmp_path: Path) -> None:
    data = b"weights bytes"
    digest = hashlib.sha256(data).hexdigest()
    f = tmp_path / "w.pth"
    f.write_bytes(data)
    good = ModelEntry("m", "vggish", ModelSource("url", "http://x", None, ("w.pth",)), {"w.pth": digest[:8]})
    assert [c.ok for c in weights.verify(weights.ResolvedWeights(good, f, "explicit", {"w.pth": f}))] == [True]
    bad = ModelEntry("m", "vggish", ModelSource("url", "http://x", None, ("w.pth",)), {"w.pth": "0" * 64})
    resolved = weights.ResolvedWeights(bad, f, "explicit", {"w.pth": f})
    assert [c.ok for c in weights.verify(resolved)] == [False]
    with pytest.raises(MissingWeightsError, match="do not match"):
        weights.require_verified(resolved)


@pytest.fixture()
def file_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A loopback-only HTTP server over tmp_path, stopped after the test."""
    root = tmp_path / "served"
    root.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):  # type: ignore[no-untyped-def]
            super().__init__(*a, directory=str(root), **kw)

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as base:
        yield base, root


def _patch_model(monkeypatch: pytest.MonkeyPatch, entry: ModelEntry) -> None:
    real = registry.get_model
    monkeypatch.setattr(weights, "get_model", lambda mid: entry if mid == entry.id else real(mid))


def test_fetch_downloads_over_http_and_checks_hash(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                   file_server: tuple[str, Path]) -> None:
    base, root = file_server
    payload = b"\x00fid weights\x01" * 1000
    (root / "net.pth").write_bytes(payload)
    entry = ModelEntry("local-net", "vggish", ModelSource("url", f"{base}/net.pth", None, ("net.pth",)),
                       {"net.pth": hashlib.sha256(payload).hexdigest()})
    _patch_model(monkeypatch, entry)
    target = weights.fetch("local-net", tmp_path / "dest")
    assert (target / "net.pth").read_bytes() == payload
    monkeypatch.setenv("GENERALBENCH_WEIGHTS", str(tmp_path / "dest"))
    assert weights.resolve("local-net").origin == "weights-folder"
    # a corrupted download is refused and leaves nothing behind that a later run could load
    (root / "net.pth").write_bytes(b"tampered")
    with pytest.raises(MissingWeightsError, match="do not match"):
        weights.fetch("local-net", tmp_path / "dest2")
    assert list((tmp_path / "dest2").iterdir()) == []
    # nor does it damage a good copy fetched before
    with pytest.raises(MissingWeightsError, match="do not match"):
        weights.fetch("local-net", tmp_path / "dest")
    assert (target / "net.pth").read_bytes() == payload
    assert sorted(p.name for p in (tmp_path / "dest").iterdir()) == ["local-net"]
    # an unreachable URL leaves no empty model folder either
    (root / "net.pth").unlink()
    with pytest.raises(MissingWeightsError, match="download of .* failed"):
        weights.fetch("local-net", tmp_path / "dest3")
    assert list((tmp_path / "dest3").iterdir()) == []


def test_fetch_reports_unreachable_sources(tmp_path: Path) -> None:
    with pytest.raises(MissingWeightsError, match="clip-vit-base-patch32.*failed"):
        weights.fetch("clip-vit-base-patch32", tmp_path)
    with pytest.raises(MissingWeightsError, match="pip install speechmos"):
        weights.fetch("dnsmos", tmp_path)


def test_unknown_model_suggests() -> None:
    with pytest.raises(MissingWeightsError, match="did you mean 'vggish'"):
        registry.get_model("vgish")


def test_make_tiny_stand_ins_are_found_and_labelled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("transformers", reason="pip install 'generalbench[models]'")
    import numpy as np

    from generalbench.metricmodels.tiny import MARKER, make_tiny
    from generalbench.metrics import compute_detailed

    folders = make_tiny(tmp_path, ["clip-vit-base-patch32", "i3d-kinetics400-torchscript"])
    assert all((f / MARKER).is_file() for f in folders)
    monkeypatch.setenv("GENERALBENCH_WEIGHTS", str(tmp_path))
    img = np.full((20, 20, 3), 120, np.uint8)
    result = compute_detailed("clip_image_score", [img], [img])
    assert result.details["origin"] == "weights-folder" and result.details["tiny_random_weights"] is True
    video = np.zeros((12, 16, 16, 3), np.uint8)
    assert compute_detailed("fvd", [video, video + 1], [video, video + 2]).details["tiny_random_weights"]


def test_hub_models_are_found_in_the_hugging_face_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("huggingface_hub")
    cache = tmp_path / "hf"
    repo = cache / "models--openai--clip-vit-base-patch32"
    snap = repo / "snapshots" / ("a" * 40)
    snap.mkdir(parents=True)
    (snap / "config.json").write_text("{}")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    import huggingface_hub.constants as hc

    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(cache))
    found = weights.resolve("clip-vit-base-patch32")
    assert found.origin == "hf-cache" and found.root == snap
