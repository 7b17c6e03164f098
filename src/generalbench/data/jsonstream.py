"""Streaming read of an annotation file's `data` list, one record at a time.

Annotation files of video tasks carry per-frame masks and can be hundreds of megabytes; reading
them record by record keeps memory proportional to the largest record, not to the file, which
is what lets `generalbench validate` stay flat on large folders. The parser is the standard
library's JSON decoder applied to one value at a time over a sliding buffer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from generalbench.data import fastjson
from generalbench.errors import DataError

_WS = re.compile(r"[ \t\n\r]*")
CHUNK = 1 << 20
_DELIMITERS = frozenset(" \t\n\r,]}:")


class _Reader:
    def __init__(self, path: Path, chunk: int = CHUNK):
        self.path = path
        self.fh = open(path, encoding="utf-8-sig")
        self.chunk = chunk
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.lines_before = 0  # newlines in text already dropped from the buffer
        self.decoder = json.JSONDecoder()

    def close(self) -> None:
        self.fh.close()

    def _more(self, grow: bool = False) -> bool:
        """Read the next chunk; `grow` reads as much as is pending, so re-decoding one large
        value costs O(size), not O(size^2 / chunk)."""
        if self.eof:
            return False
        if self.pos > self.chunk:  # drop consumed text, keep line count for messages
            self.lines_before += self.buf.count("\n", 0, self.pos)
            self.buf = self.buf[self.pos:]
            self.pos = 0
        try:
            text = self.fh.read(max(self.chunk, len(self.buf) - self.pos) if grow else self.chunk)
        except UnicodeDecodeError:
            raise DataError(f"{self.path}: after line {self.line(len(self.buf))}: not valid UTF-8; "
                            "save the file as UTF-8") from None
        if not text:
            self.eof = True
            return False
        self.buf += text
        return True

    def line(self, pos: int | None = None) -> int:
        return self.lines_before + self.buf.count("\n", 0, self.pos if pos is None else pos) + 1

    def fail(self, what: str, pos: int | None = None) -> DataError:
        return DataError(f"{self.path}: line {self.line(pos)}: not valid JSON ({what}); fix or "
                         "re-download the file")

    def skip_ws(self) -> None:
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf) or not self._more():
                return

    def peek(self) -> str:
        self.skip_ws()
        return self.buf[self.pos:self.pos + 1]

    def expect(self, char: str) -> None:
        if self.peek() != char:
            got = self.buf[self.pos:self.pos + 1] or "end of file"
            raise self.fail(f"expected {char!r}, found {got!r}")
        self.pos += 1

    def value(self) -> Any:
        self.skip_ws()
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if self._more(grow=True):
                    continue
                raise self.fail(exc.msg, exc.pos) from None
            except RecursionError:
                raise self.fail("nested too deeply") from None
            if (end >= len(self.buf) or self.buf[end] not in _DELIMITERS) and self._more(grow=True):
                continue  # a number or literal may go on in the next chunk ("0" then ".5")
            self.pos = end
            return value


WHOLE_FILE_MAX = 4 << 20
"""Files up to this size are decoded in one json.loads call (a few times faster than streaming,
and the memory of a few MB of records is nothing); larger ones are streamed."""


def _small_file_data(path: Path) -> list[Any] | None:
    """The `data` list of a small, well-formed file in one call; None means "stream it" (large,
    invalid, or unusual: the streaming parser then gives the exact error or semantics)."""
    try:
        if path.stat().st_size > WHOLE_FILE_MAX:
            return None
        text = path.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    if text.count('"data"') != 1:  # a repeated key: the streaming parser's semantics apply
        return None
    try:
        doc = fastjson.loads(text, json.loads)
    except (json.JSONDecodeError, RecursionError):
        return None
    data = doc.get("data") if isinstance(doc, dict) else None
    return data if isinstance(data, list) else None


def iter_data(path: Path, chunk: int = CHUNK) -> Iterator[Any]:
    """The items of the top-level `data` list of a JSON object file, one at a time.

    Raises DataError (with the line number) on invalid JSON, a missing `data` key or a `data`
    that is not a list; the rest of the file is parsed too, so a truncated file is an error.
    """
    small = _small_file_data(Path(path)) if chunk == CHUNK else None  # a chunk size: streaming
    if small is not None:
        yield from small
        return
    reader = _Reader(Path(path), chunk)
    try:
        reader.expect("{")
        seen_data = False
        if reader.peek() == "}":
            reader.pos += 1
        else:
            while True:
                key = reader.value()
                if not isinstance(key, str):
                    raise reader.fail("object keys must be strings")
                reader.expect(":")
                if key == "data":
                    seen_data = True
                    if reader.peek() != "[":
                        raise DataError(f"{path}: field='data': must be a list of instances")
                    reader.pos += 1
                    if reader.peek() == "]":
                        reader.pos += 1
                    else:
                        while True:
                            yield reader.value()
                            sep = reader.peek()
                            reader.pos += 1
                            if sep == "]":
                                break
                            if sep != ",":
                                raise reader.fail(f"expected ',' or ']' in 'data', found {sep or 'end of file'!r}",
                                                  reader.pos - 1)
                else:
                    reader.value()
                sep = reader.peek()
                reader.pos += 1
                if sep == "}":
                    break
                if sep != ",":
                    raise reader.fail(f"expected ',' or '}}', found {sep or 'end of file'!r}", reader.pos - 1)
        if reader.peek():
            raise reader.fail("extra data after the top-level object")
        if not seen_data:
            raise DataError(f"{path}: field='data': missing; the file must hold "
                            "{'task', 'type', 'data': [...]}")
    finally:
        reader.close()
