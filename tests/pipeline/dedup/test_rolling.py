"""The rolling hash shared by MinHash shingles and n-gram decontamination."""

import numpy as np

from pipeline.dedup.rolling import RollingHash

R = 0x9E3779B97F4A7C15


def naive(window: list[int]) -> int:
    """The hash spelled out: sum(v[k] * R**k) over the window, positions counted from its start."""
    return sum(v * pow(R, k, 2**64) for k, v in enumerate(window)) % 2**64


DOCS = [[5, 7, 11, 13, 17], [19, 23], [], [29, 31, 37]]


def _rolling() -> RollingHash:
    values = np.array([v for doc in DOCS for v in doc], dtype=np.uint64)
    offsets = np.cumsum([0] + [len(d) for d in DOCS])
    return RollingHash(values, offsets)


def test_windows_never_cross_documents_and_hash_by_content():
    starts, hashes = _rolling().windows(3)
    assert starts.tolist() == [0, 1, 2, 7]
    assert hashes.tolist() == [naive([5, 7, 11]), naive([7, 11, 13]), naive([11, 13, 17]), naive([29, 31, 37])]


def test_whole_short_documents_get_one_window():
    starts, hashes = _rolling().windows(3, whole_short=True)
    assert starts.tolist() == [0, 1, 2, 5, 7]
    assert hashes[3] == naive([19, 23])


def test_same_window_same_hash_at_any_position():
    values = np.array([3, 1, 4, 1, 5, 9, 2, 6, 1, 4, 1, 5], dtype=np.uint64)
    starts, hashes = RollingHash(values, np.array([0, len(values)])).windows(3)
    assert hashes[0] != hashes[1] and hashes[1] == hashes[8] and hashes[1] == naive([1, 4, 1])
