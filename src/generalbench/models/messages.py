"""Rendered prompts as the wire formats backends need.

The prompt layer hands over Message(role, parts=[TextPart | MediaPart]) with media by path. Media
are read and encoded here, only into the outgoing request: images as data URLs, audio as
`input_audio`, video as a few sampled frames. Nothing encoded is ever logged or journaled.
"""

from __future__ import annotations

import base64
import io
import mimetypes
from collections.abc import Sequence
from pathlib import Path
from typing import Any

AUDIO_FORMATS = {".wav": "wav", ".mp3": "mp3", ".flac": "flac", ".ogg": "ogg", ".m4a": "m4a"}


def part_text(part: Any) -> str | None:
    """The text of a text part, None for a media part."""
    if isinstance(part, str):
        return part
    if isinstance(part, dict):
        return part.get("text")
    return getattr(part, "text", None)


def part_media(part: Any) -> tuple[str, Path] | None:
    """(kind, path) of a media part: kind is image, video, audio, frames or pointcloud."""
    ref = part.get("media", part) if isinstance(part, dict) else getattr(part, "media", part)
    get = ref.get if isinstance(ref, dict) else (lambda k, d=None: getattr(ref, k, d))
    path = get("path")
    if path is None:
        return None
    kind = get("kind") or get("type") or _guess_kind(Path(path))
    return str(kind), Path(path)


def _guess_kind(path: Path) -> str:
    if path.is_dir():
        return "frames"
    mime = mimetypes.guess_type(path.name)[0] or ""
    return mime.split("/")[0] if mime else "file"


def message_role(message: Any) -> str:
    return message["role"] if isinstance(message, dict) else message.role


def message_parts(message: Any) -> list[Any]:
    parts = message.get("parts") if isinstance(message, dict) else getattr(message, "parts", None)
    if parts is None:  # a plain {"role", "content": str} message
        content = message["content"] if isinstance(message, dict) else message.content
        return [content]
    return list(parts)


def text_only(messages: Sequence[Any]) -> list[dict[str, str]]:
    """Messages as {"role", "content": str}, media parts dropped (for text-only models)."""
    out = []
    for m in messages:
        texts = [t for t in (part_text(p) for p in message_parts(m)) if t]
        out.append({"role": message_role(m), "content": "\n".join(texts)})
    return out


def media_paths(messages: Sequence[Any]) -> list[tuple[str, Path]]:
    return [mp for m in messages for p in message_parts(m)
            if part_text(p) is None and (mp := part_media(p)) is not None]


def _data_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def image_url(path: Path) -> dict[str, Any]:
    mime = mimetypes.guess_type(path.name)[0] or "image/png"
    return {"type": "image_url", "image_url": {"url": _data_url(path.read_bytes(), mime)}}


def _png_url(array: Any) -> dict[str, Any]:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return {"type": "image_url", "image_url": {"url": _data_url(buf.getvalue(), "image/png")}}


def video_frames(kind: str, path: Path, n: int) -> list[dict[str, Any]]:
    """`n` uniformly sampled frames of a video file or frame folder, as image parts."""
    from generalbench.data.media import load_frames, load_video

    frames = load_frames(path) if kind == "frames" or path.is_dir() else load_video(path, max_frames=n)
    if len(frames) > n:
        import numpy as np

        frames = frames[np.linspace(0, len(frames) - 1, n).round().astype(int)]
    return [_png_url(f) for f in frames]


def audio_part(path: Path) -> dict[str, Any]:
    fmt = AUDIO_FORMATS.get(path.suffix.lower())
    data = path.read_bytes()
    if fmt is None:  # re-encode anything else as wav
        from generalbench.data.media import load_audio

        samples, rate = load_audio(path)
        buf = io.BytesIO()
        import soundfile as sf

        sf.write(buf, samples, rate, format="WAV", subtype="PCM_16")
        data, fmt = buf.getvalue(), "wav"
    return {"type": "input_audio", "input_audio": {"data": base64.b64encode(data).decode(),
                                                   "format": fmt}}


def to_openai(messages: Sequence[Any], *, video_frames_n: int = 8) -> list[dict[str, Any]]:
    """OpenAI chat `messages` with media encoded inline (for the request body only)."""
    out: list[dict[str, Any]] = []
    for m in messages:
        content: list[dict[str, Any]] = []
        for p in message_parts(m):
            text = part_text(p)
            if text is not None:
                content.append({"type": "text", "text": text})
                continue
            media = part_media(p)
            if media is None:
                continue
            kind, path = media
            if kind == "image":
                content.append(image_url(path))
            elif kind == "audio":
                content.append(audio_part(path))
            elif kind in {"video", "frames"}:
                content.extend(video_frames(kind, path, video_frames_n))
            else:
                content.append({"type": "text", "text": f"[{kind} file: {path.name}]"})
        if all(c["type"] == "text" for c in content):
            out.append({"role": message_role(m), "content": "\n".join(c["text"] for c in content)})
        else:
            out.append({"role": message_role(m), "content": content})
    return out
