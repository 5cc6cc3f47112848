"""Content-defined chunking with the repository's secret gear-table seed.

Boundaries depend on content (so an insertion shifts only nearby chunks) and on a
per-repository secret (so chunk sizes do not fingerprint known files).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import BinaryIO

from pyfastcdc import FastCDC

from cadang.repo.config import ChunkerParams


class Chunker:
    """Thread-safe front to pyfastcdc, whose objects are not: one instance per thread."""

    def __init__(self, params: ChunkerParams, seed: int) -> None:
        self.params = params
        self.seed = seed
        self._local = threading.local()

    def _cdc(self) -> FastCDC:
        cdc: FastCDC | None = getattr(self._local, "cdc", None)
        if cdc is None:
            p = self.params
            cdc = self._local.cdc = FastCDC(
                p.avg_size,
                min_size=p.min_size,
                max_size=p.max_size,
                normalized_chunking=p.normalization,  # type: ignore[arg-type]
                seed=self.seed,
            )
        return cdc

    @property
    def min_size(self) -> int:
        return self.params.min_size

    def split_buffer(self, data: bytes | memoryview) -> Iterator[memoryview]:
        for chunk in self._cdc().cut_buf(data):
            yield chunk.data

    def split_stream(self, stream: BinaryIO) -> Iterator[memoryview]:
        """Chunks of a stream; each view is valid only until the next is taken."""
        for chunk in self._cdc().cut_stream(stream):
            yield chunk.data
