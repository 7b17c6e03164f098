"""The typed instance model: one benchmark item with its inputs and (open set) its native target.

Every annotation adapter, whatever the published layout, produces `Instance`s; prompts, models
and metrics only ever see this shape. Media stay on disk as `MediaRef`s (path + optional sha256)
and are decoded lazily, so an instance is small and can be logged as JSON without base64.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from generalbench.data.safepath import iter_files, read_plain, resolve_checked, resolve_inside
from generalbench.errors import DataError

MediaKind = Literal["image", "video", "frames", "audio", "pointcloud", "mesh", "depth", "flow",
                    "mask", "array"]
MEDIA_KINDS: tuple[str, ...] = ("image", "video", "frames", "audio", "pointcloud", "mesh", "depth",
                                "flow", "mask", "array")
"""`array` is any other numpy array file (.npy / .npz): point labels, motions, poses."""


def check_relative(path: str, where: str = "") -> str:
    """A POSIX relative path that stays inside its base folder (no '..', no absolute paths)."""
    norm = path.replace("\\", "/")  # official audio paths may use Windows separators
    if not norm or norm.startswith("/") or (len(norm) > 1 and norm[1] == ":"):
        raise DataError(f"{where}path {path!r} must be relative to its folder")
    parts = [part for part in norm.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise DataError(f"{where}path {path!r} must not leave its folder ('..')")
    return "/".join(parts) or "."  # what str(PurePosixPath(norm)) gives, without its parsing


_LOADERS = {"image": "load_image", "video": "load_video", "frames": "load_frames",
            "audio": "load_audio", "pointcloud": "load_pointcloud", "mesh": "load_mesh",
            "depth": "load_depth", "flow": "load_flow", "mask": "load_mask", "array": "load_array"}
"""Media kind -> its decoder in data/media.py."""


def load_media(kind: str, path: Path | str, exists: bool | None = None) -> Any:
    """Decode a file already resolved inside its folder (`safepath.resolve_inside`) as `kind`.

    Shared by MediaRef.load and the scorer's plain-path fast lane (data/native.py), which skips
    building a MediaRef per file and passes `exists` as its path walk found it."""
    # not `from generalbench.data import media`: a package's fromlist runs importlib's
    # Python-level _handle_fromlist on every call
    import generalbench.data.media as media

    if not (os.path.exists(path) if exists is None else exists):
        raise DataError(f"{path}: {kind} file not found")
    return getattr(media, _LOADERS[kind])(path)


def load_relative(kind: str, base: Path | str, rel: str) -> Any:
    """Decode the file `rel` below `base` as `kind`: MediaRef(kind, rel).load(base) without the
    MediaRef (same checks, same messages). A mask (most of a scoring run's files) is read by
    `safepath.read_plain` (no lstat of the file, opened O_NOFOLLOW) and decoded from its bytes;
    anything that lane declines takes the general path."""
    if kind == "mask":
        found = read_plain(base, rel)
        if found is not None:
            from generalbench.data.media import mask_from_bytes

            return mask_from_bytes(found[1], found[0])
    return load_media(kind, *resolve_checked(base, rel, what=f"{kind} file"))


class MediaRef(BaseModel):
    """A media file (or frame folder) referenced by a path relative to a base folder.

    The base is the task folder for inputs and targets, the predictions folder for generated
    artifacts. It is kept out of the serialised form so that instances and logs stay portable.
    """

    model_config = ConfigDict(frozen=True)

    kind: MediaKind
    path: str
    sha256: str | None = None
    base: Path | None = Field(default=None, exclude=True, repr=False)

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        try:
            return check_relative(value)
        except DataError as exc:
            raise ValueError(str(exc)) from None

    def resolve(self, base: Path | str | None = None) -> Path:
        """The absolute path, against `base` or the folder this reference was read from.

        Resolved by `safepath.resolve_inside`: a symbolic link leading out of the base folder
        or a non-regular file (a FIFO would block the reader) raises DataError.
        """
        root = Path(base) if base is not None else self.base
        if root is None:
            raise DataError(f"media {self.path!r} has no base folder to resolve against")
        return resolve_inside(root, self.path, what=f"{self.kind} file")

    def exists(self, base: Path | str | None = None) -> bool:
        return self.resolve(base).exists()

    def file_sha256(self, base: Path | str | None = None) -> str:
        """sha256 of the file (of every file, in sorted order, for a frame folder)."""
        path = self.resolve(base)
        digest = hashlib.sha256()
        files = list(iter_files(path)) if path.is_dir() else [path]
        for f in files:
            with open(f, "rb") as fh:
                for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                    digest.update(block)
        return digest.hexdigest()

    def verify(self, base: Path | str | None = None) -> None:
        """Raise DataError when the file is missing or its content differs from `sha256`."""
        path = self.resolve(base)
        if not path.exists():
            raise DataError(f"{path}: {self.kind} file not found")
        if self.sha256 and self.file_sha256(base) != self.sha256:
            raise DataError(f"{path}: sha256 differs from the annotation; re-download the file")

    def load(self, base: Path | str | None = None) -> Any:
        """Decode the media into its native value (see docs/contracts.md)."""
        return load_media(self.kind, self.resolve(base))

    def probe(self, base: Path | str | None = None) -> None:
        """Check the media decodes, holding at most one frame of a video at a time."""
        from generalbench.data import media

        path = self.resolve(base)
        if not path.exists():
            raise DataError(f"{path}: {self.kind} file not found")
        if self.kind == "video":
            media.probe_video(path)
        elif self.kind == "frames":
            media.probe_frames(path)
        else:
            self.load(base)

    def with_base(self, base: Path) -> MediaRef:
        return self.model_copy(update={"base": base})


class Instance(BaseModel):
    """One benchmark item.

    `inputs` holds text fields (prompt, question, text, choices, ...) and media references
    (image, images, video, video_folder, audio, pointcloud, mesh, depth, ...). `target` is the
    reference answer in the task's native type (docs/data-format.md), or None in a closed set;
    array-valued targets (masks, depth, flow, generated media) stay `MediaRef`s or COCO RLE dicts
    until a metric decodes them with `generalbench.data.native.load_native`.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    id: str
    task_id: str
    inputs: dict[str, Any] = Field(default_factory=dict)
    target: Any | None = None
    meta: dict[str, Any] = Field(default_factory=dict)
    """Published fields with no place above (kept for task-specific metrics and debugging)."""

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ValueError(f"instance id must be a string or integer, got {type(value).__name__}")
        text = str(value)
        if not text.strip():
            raise ValueError("instance id is empty")
        return text

    def media(self) -> list[tuple[str, MediaRef]]:
        """Every media reference in the inputs, as (input key, reference), in key order."""
        out: list[tuple[str, MediaRef]] = []
        for key, value in self.inputs.items():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, MediaRef):
                    out.append((key, item))
        return out

    def text(self, key: str, default: str = "") -> str:
        value = self.inputs.get(key, default)
        return value if isinstance(value, str) else default

    @property
    def has_target(self) -> bool:
        return self.target is not None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: media as {"kind", "path", "sha256"}, never decoded content."""
        return self.model_dump(mode="json")
