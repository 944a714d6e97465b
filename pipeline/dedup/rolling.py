"""The rolling hash of token windows shared by MinHash shingling and n-gram decontamination.

Tokens are 64-bit values (random odd numbers per word or byte). The hash of the window
``v[i:i+n]`` is ``sum(v[k] * R**k for k in i..i+n-1) * R**-i`` (mod 2**64): a difference of two
prefix sums times a power of ``R**-1``, exact in uint64 arithmetic because ``R`` is odd (so
invertible mod 2**64). One ``cumsum`` over a whole batch of documents then gives the hash of
every window of every length, with no Python loop over documents.
"""

from __future__ import annotations

import numpy as np

_R = np.uint64(0x9E3779B97F4A7C15)  # odd, so invertible mod 2**64
_R_INV = np.uint64(pow(int(_R), -1, 2**64))


class RollingHash:
    """Prefix sums of a batch of documents; ``windows(n)`` hashes every ``n``-token window.

    ``offsets`` are the document boundaries into ``values`` (``len(docs) + 1`` of them, from 0).
    A window never crosses a boundary.
    """

    def __init__(self, values: np.ndarray, offsets: np.ndarray):
        total = len(values)
        powers = np.cumprod(np.full(total + 1, _R, dtype=np.uint64)) * _R_INV  # R**k
        self.inv_powers = np.cumprod(np.full(total + 1, _R_INV, dtype=np.uint64)) * _R  # R**-k
        self.prefix = np.zeros(total + 1, dtype=np.uint64)  # sum of v[k] * R**k for k < i
        np.cumsum(values * powers[:total], out=self.prefix[1:])
        self.offsets = offsets
        self.doc_end = np.repeat(offsets[1:], np.diff(offsets))  # per position: its document's end

    def windows(self, length: int, whole_short: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(start positions, hashes) of every ``length``-token window inside one document.

        With ``whole_short``, a document shorter than ``length`` gets one window: all of it.
        """
        positions = np.arange(len(self.doc_end))
        if not whole_short:
            starts = np.flatnonzero(positions + length <= self.doc_end)
            return starts, self.at(starts, length)
        doc_start = np.repeat(self.offsets[:-1], np.diff(self.offsets))
        short = self.doc_end - doc_start < length
        ends = np.where(short, self.doc_end, positions + length)
        starts = np.flatnonzero((ends <= self.doc_end) & (~short | (positions == doc_start)))
        return starts, (self.prefix[ends[starts]] - self.prefix[starts]) * self.inv_powers[starts]

    def at(self, starts: np.ndarray, length: int) -> np.ndarray:
        """Hashes of the ``length``-token windows beginning at ``starts`` (each inside one document)."""
        return (self.prefix[starts + length] - self.prefix[starts]) * self.inv_powers[starts]
