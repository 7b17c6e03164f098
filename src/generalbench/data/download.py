"""`generalbench download`: fetch General-Bench from the Hugging Face hub, or copy a local mirror.

The scope (modalities, tasks) becomes a list of folders: the repository's file list is read
first, its task folders matched to catalog tasks by folder name (folders.yaml mappings, then
normalised name, then short name, as for reading a dataset), and only those folders are
requested with `allow_patterns`. The same selection runs over a local mirror (`--source`), which
is how the tests exercise it, since no hub is reachable from them.
"""

from __future__ import annotations

import glob
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from generalbench.catalog import Catalog, Task
from generalbench.data.archive import ARCHIVE_SUFFIXES, archive_stem
from generalbench.data.dataset import _Matcher, folder_rules
from generalbench.errors import DataError

REPOS = {"open": "General-Level/General-Bench-Openset", "closed": "General-Level/General-Bench-Closeset"}
TOP_FILES = ("README.md", ".gitattributes")


@dataclass
class Selection:
    """Which task folders of a repository listing a scope needs."""

    folders: dict[str, str] = field(default_factory=dict)
    """task id -> folder (or archive) path inside the repository."""
    missing: list[Task] = field(default_factory=list)
    """Requested tasks with no folder in the listing."""
    unmatched: list[str] = field(default_factory=list)
    """Folders of the chosen modalities that matched no catalog task."""

    def patterns(self) -> list[str]:
        """allow_patterns for huggingface_hub (fnmatch; '*' also crosses '/')."""
        out = list(TOP_FILES)
        for path in sorted(set(self.folders.values())):
            safe = glob.escape(path)  # folder names are literal, not patterns
            out.append(safe if path.lower().endswith(ARCHIVE_SUFFIXES) else f"{safe}/*")
        return out


def _task_units(paths: Iterable[str]) -> dict[str, tuple[str, str | None, str]]:
    """Task folders (or archives) in a listing: path -> (modality, paradigm, folder name)."""
    rules = folder_rules()
    units: dict[str, tuple[str, str | None, str]] = {}
    for raw in paths:
        parts = PurePosixPath(raw).parts
        if not parts:
            continue
        modality = rules["modality_folders"].get(parts[0].lower())
        if modality is None:
            continue
        depth = 1
        paradigm = None
        if modality != "language" and len(parts) > 2 and parts[1].lower() in rules["paradigm_folders"]:
            paradigm = rules["paradigm_folders"][parts[1].lower()]
            depth = 2
        if len(parts) <= depth:
            continue
        name = parts[depth]
        is_file = len(parts) == depth + 1
        if is_file and not name.lower().endswith(ARCHIVE_SUFFIXES):
            continue
        path = "/".join(parts[:depth + 1])
        units[path] = (modality, paradigm, archive_stem(PurePosixPath(name)) if is_file else name)
    return units


def select(paths: Iterable[str], catalog: Catalog, modalities: Sequence[str] | None = None,
           tasks: Sequence[str] | None = None) -> Selection:
    """The task folders of a listing inside the scope (modalities and/or tasks; none = all)."""
    wanted_mods = None
    if modalities:
        wanted_mods = set(catalog.parse_modalities(modalities) or ())
    wanted_tasks = {catalog.resolve(t).id for t in tasks} if tasks else None
    matcher = _Matcher(catalog)
    sel = Selection()
    for path, (modality, paradigm, name) in sorted(_task_units(paths).items()):
        if wanted_mods is not None and modality not in wanted_mods:
            continue
        task, _ = matcher.match(None, name, modality, paradigm)
        if task is None:
            if wanted_tasks is None:
                sel.unmatched.append(path)
            continue
        if wanted_tasks is not None and task.id not in wanted_tasks:
            continue
        sel.folders.setdefault(task.id, path)
    if wanted_tasks is not None:
        sel.missing = [catalog.get(t) for t in sorted(wanted_tasks) if t not in sel.folders]
    return sel


def _listing(root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]


def _place(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():
        dst.unlink()
    try:
        os.link(src, dst)  # same filesystem: no copy, no extra space
    except OSError:
        shutil.copy2(src, dst)


@dataclass
class DownloadResult:
    dest: Path
    selection: Selection
    files: int
    bytes: int


def copy_mirror(source: Path, dest: Path, selection: Selection) -> tuple[int, int]:
    """Copy the selected folders (and top-level README) of a local mirror into `dest`."""
    files = size = 0
    for base in [*TOP_FILES, *sorted(set(selection.folders.values()))]:
        src = source / base
        if src.is_file():
            items = [src]
        elif src.is_dir():
            items = [p for p in src.rglob("*") if p.is_file()]
        else:
            continue
        for f in items:
            if f.is_symlink():
                raise DataError(f"{f}: mirror holds a symbolic link; refusing to copy it")
            _place(f, dest / f.relative_to(source))
            files += 1
            size += f.stat().st_size
    return files, size


def download(split: str, catalog: Catalog, *, dest: Path | None = None,
             modalities: Sequence[str] | None = None, tasks: Sequence[str] | None = None,
             source: Path | None = None, revision: str | None = None,
             token: str | None = None) -> DownloadResult:
    """Fetch the open or closed set (restricted to the scope) from the hub or a local mirror."""
    if split not in REPOS:
        raise DataError(f"--split must be 'open' or 'closed', got {split!r}")
    repo = REPOS[split]
    dest = Path(dest) if dest is not None else Path(repo.split("/")[1])
    if source is not None:
        source = Path(source)
        if (source / repo.split("/")[1]).is_dir():
            source = source / repo.split("/")[1]
        if not source.is_dir():
            raise DataError(f"{source}: mirror folder not found")
        listing = _listing(source)
    else:
        hub = _hub()
        try:
            listing = hub.HfApi(token=token).list_repo_files(repo, repo_type="dataset", revision=revision)
        except Exception as exc:  # noqa: BLE001 - network and auth errors all end here
            raise DataError(f"cannot list {repo} on the Hugging Face hub ({type(exc).__name__}: {exc}); "
                            "check the network and HF_TOKEN, or use --source DIR with a local mirror") from None
    selection = select(listing, catalog, modalities, tasks)
    if selection.missing:
        names = ", ".join(t.id for t in selection.missing)
        raise DataError(f"{source or repo}: no folder for task(s) {names}; check the names with "
                        "`generalbench tasks --search ...`")
    if not selection.folders:
        raise DataError(f"{source or repo}: nothing in the chosen scope")
    dest.mkdir(parents=True, exist_ok=True)
    if source is not None:
        files, size = copy_mirror(source, dest, selection)
    else:
        hub.snapshot_download(repo_id=repo, repo_type="dataset", revision=revision, token=token,
                              local_dir=str(dest), allow_patterns=selection.patterns())
        got = [p for p in dest.rglob("*") if p.is_file() and ".cache" not in p.parts]
        files, size = len(got), sum(p.stat().st_size for p in got)
    return DownloadResult(dest, selection, files, size)


def _hub():
    try:
        import huggingface_hub
    except ImportError:
        raise DataError("downloading from the hub needs huggingface_hub: pip install "
                        "'generalbench[hub]' (or use --source DIR with a local mirror)") from None
    return huggingface_hub
