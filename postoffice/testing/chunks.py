"""Cutting bytes into chunks for the tests of incremental parsers and encoders.

Every streaming parser and encoder must give the same output whatever the chunking of
its input (docs/architecture.md §10.1); the tests feed it the pieces cut here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

__all__ = ["pieces"]


def pieces(data: bytes, sizes: Sequence[int]) -> Iterator[bytes]:
    """``data`` in consecutive pieces of ``sizes[0]``, ``sizes[1]``, ... octets, cycling
    through ``sizes`` (each at least 1) until ``data`` is used up."""
    if not sizes or min(sizes) < 1:
        raise ValueError("sizes must be positive")
    pos, index = 0, 0
    while pos < len(data):
        step = sizes[index % len(sizes)]
        yield data[pos : pos + step]
        pos, index = pos + step, index + 1
