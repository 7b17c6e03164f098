"""Deterministic sharding by instance: shard I of N holds the instances whose (task, id) hash is I
mod N, so shards are disjoint, cover everything, and do not depend on order or on other shards."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from generalbench.errors import GeneralBenchError


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    @classmethod
    def parse(cls, text: str | None) -> Shard:
        """`I/N` with 0 <= I < N (None: the whole run)."""
        if not text:
            return cls(0, 1)
        i, sep, n = text.partition("/")
        try:
            shard = cls(int(i), int(n))
        except ValueError:
            shard = None
        if not sep or shard is None or shard.count < 1 or not 0 <= shard.index < shard.count:
            raise GeneralBenchError(f"--shard {text!r}: use I/N with 0 <= I < N, e.g. 0/4 ... 3/4")
        return shard

    def holds(self, task_id: str, instance_id: str) -> bool:
        if self.count == 1:
            return True
        digest = hashlib.sha256(f"{task_id}\0{instance_id}".encode()).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"
