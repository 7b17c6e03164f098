"""`weights fetch` from a Hugging Face hub: the branch is resolved to a commit, that commit is
downloaded by huggingface_hub's own code, and a lock records the commit and every file's sha256
so `weights verify` can later catch a changed file. The hub is a local HTTP server speaking the
part of the hub protocol that huggingface_hub uses (repo info and file resolution)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.local_server import QuietHandler, serving

from generalbench.errors import MissingWeightsError
from generalbench.metricmodels import registry, weights
from generalbench.metricmodels.registry import ModelEntry, ModelSource

pytest.importorskip("huggingface_hub")

REPO = "org/tiny-net"
COMMIT = "c0ffee" + "0" * 34
FILES = {"config.json": b'{"hidden": 4}', "model.safetensors": b"\x01weights\x02" * 500,
         "README.md": b"not fetched"}


class FakeHub(QuietHandler):
    """Serves /api/models/<repo>/revision/<rev>, /api/models/<repo>/tree/<rev> and
    /<repo>/resolve/<rev>/<file> for one repo
    whose `main` branch points at COMMIT; `requests` records the paths asked for."""

    requests: list[str] = []

    def _route(self) -> tuple[int, dict[str, str], bytes]:
        path = self.path.split("?")[0]
        type(self).requests.append(f"{self.command} {path}")
        info = f"/api/models/{REPO}/revision/"
        if path.startswith(info) and path[len(info):] in ("main", COMMIT):
            body = json.dumps({"id": REPO, "sha": COMMIT,
                               "siblings": [{"rfilename": n} for n in FILES]}).encode()
            return 200, {"Content-Type": "application/json"}, body
        tree = f"/api/models/{REPO}/tree/"
        if path.startswith(tree) and path[len(tree):].rstrip("/") in ("main", COMMIT):
            body = json.dumps([{"type": "file", "path": n, "size": len(d),
                                "oid": hashlib.sha1(d).hexdigest()} for n, d in FILES.items()]).encode()
            return 200, {"Content-Type": "application/json"}, body
        prefix = f"/{REPO}/resolve/"
        if path.startswith(prefix):
            rev, _, name = path[len(prefix):].partition("/")
            if rev in ("main", COMMIT) and name in FILES:
                data = FILES[name]
                return 200, {"X-Repo-Commit": COMMIT, "ETag": f'"{hashlib.sha256(data).hexdigest()}"',
                             "Content-Length": str(len(data))}, data
        return 404, {"X-Error-Code": "EntryNotFound"}, b"not found"

    def _answer(self, with_body: bool) -> None:
        status, headers, body = self._route()
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._answer(True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(False)


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    import huggingface_hub.constants as hc

    with serving(FakeHub) as endpoint:
        monkeypatch.setattr(hc, "ENDPOINT", endpoint)
        monkeypatch.setattr(hc, "HUGGINGFACE_CO_URL_TEMPLATE", endpoint + "/{repo_id}/resolve/{revision}/{filename}")
        monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
        monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
        monkeypatch.setattr(hc, "HF_HUB_OFFLINE", False)  # the suite runs offline; this hub is local
        FakeHub.requests = []
        yield endpoint


def _use_entry(monkeypatch: pytest.MonkeyPatch, entry: ModelEntry) -> None:
    real = registry.get_model
    monkeypatch.setattr(weights, "get_model", lambda mid: entry if mid == entry.id else real(mid))


def test_hub_fetch_pins_the_commit_and_locks_file_hashes(fake_hub: str, monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    entry = ModelEntry("tiny-net", "clip", ModelSource("hub", REPO, "main", ("config.json", "model.safetensors")), {})
    _use_entry(monkeypatch, entry)
    target = weights.fetch("tiny-net", tmp_path / "weights")

    assert (target / "model.safetensors").read_bytes() == FILES["model.safetensors"]
    assert not (target / "README.md").exists()  # only the listed files
    # the files were downloaded at the commit that `main` pointed to, not at the moving branch
    downloads = [r for r in FakeHub.requests if "/resolve/" in r]
    assert downloads and all(f"/resolve/{COMMIT}/" in r for r in downloads)
    lock = json.loads((target / weights.LOCK_NAME).read_text())
    assert lock["commit"] == COMMIT and lock["revision"] == "main"
    assert lock["files"] == {n: hashlib.sha256(FILES[n]).hexdigest() for n in ("config.json", "model.safetensors")}

    # verify checks the locked hashes; a file changed after the fetch is a mismatch
    found = weights.resolve("tiny-net", path=target)
    assert {c.name: c.ok for c in weights.verify(found)} == {"config.json": True, "model.safetensors": True}
    (target / "model.safetensors").write_bytes(b"changed")
    checks = {c.name: c.ok for c in weights.verify(weights.resolve("tiny-net", path=target))}
    assert checks["model.safetensors"] is False
    with pytest.raises(MissingWeightsError, match="do not match their recorded hashes"):
        weights.require_verified(weights.resolve("tiny-net", path=target))


def test_a_hash_in_models_yaml_wins_over_the_lock(fake_hub: str, monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    wrong = "0" * 64
    entry = ModelEntry("tiny-net", "clip", ModelSource("hub", REPO, "main", ("config.json", "model.safetensors")),
                       {"model.safetensors": wrong})
    _use_entry(monkeypatch, entry)
    with pytest.raises(MissingWeightsError, match="do not match"):
        weights.fetch("tiny-net", tmp_path / "weights")


def test_unknown_revision_is_one_clear_error(fake_hub: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    entry = ModelEntry("tiny-net", "clip", ModelSource("hub", REPO, "v9", ("config.json",)), {})
    _use_entry(monkeypatch, entry)
    with pytest.raises(MissingWeightsError, match=r"tiny-net.*download from the hub \(hub:org/tiny-net@v9\) failed"):
        weights.fetch("tiny-net", tmp_path / "weights")


def test_a_damaged_lock_is_reported_not_ignored(tmp_path: Path) -> None:
    (tmp_path / weights.LOCK_NAME).write_text('{"files": ["x"]}')
    with pytest.raises(MissingWeightsError, match="unreadable weights lock"):
        weights.read_lock(tmp_path)
    assert weights.read_lock(tmp_path / "absent") == {}
