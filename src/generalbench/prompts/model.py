"""Typed prompt messages: text parts and media parts that reference files (never base64).

Backends turn a MediaPart into whatever their API needs (a data URL, input_audio, sampled frames)
at request time; everything logged or hashed keeps only the kind and the relative path.
"""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict


class TextPart(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: Literal["text"] = "text"
    text: str


class MediaPart(BaseModel):
    """A media input: `kind` (image, frames, video, audio, pointcloud, mesh, ...) and its file.

    `path` is the absolute file (or frame folder) to read; `name` is the path relative to the
    task folder, which is what goes into hashes and logs so they do not depend on where the
    dataset lives.
    """

    model_config = ConfigDict(frozen=True)

    type: Literal["media"] = "media"
    kind: str
    path: str
    name: str
    key: str = ""
    """The instance input it came from (image, video_folder, audio, ...)."""


Part = TextPart | MediaPart


class Message(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: Literal["system", "user", "assistant"]
    parts: list[Part]

    @property
    def text(self) -> str:
        """The text parts joined (for text-only backends and logs)."""
        return "\n".join(p.text for p in self.parts if isinstance(p, TextPart))

    @property
    def media(self) -> list[MediaPart]:
        return [p for p in self.parts if isinstance(p, MediaPart)]


class Prompt(BaseModel):
    """The rendered prompt of one instance, with the template version and a content hash."""

    model_config = ConfigDict(frozen=True)

    messages: list[Message]
    version: str
    hash: str

    @staticmethod
    def content_hash(messages: list[Message], version: str) -> str:
        """sha256 (16 hex digits) of the version and the messages, media by kind and relative name."""
        canon = [{"role": m.role, "parts": [
            {"text": p.text} if isinstance(p, TextPart) else {"kind": p.kind, "name": p.name}
            for p in m.parts]} for m in messages]
        blob = json.dumps({"version": version, "messages": canon}, sort_keys=True,
                          ensure_ascii=False).encode("utf-8")
        return hashlib.sha256(blob).hexdigest()[:16]

    @property
    def text(self) -> str:
        return "\n".join(m.text for m in self.messages)

    @property
    def media(self) -> list[MediaPart]:
        return [p for m in self.messages for p in m.media]
