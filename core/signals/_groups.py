"""Shared helpers of the duplicate signals: groups from keys or from linked pairs, representatives."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def groups_from_keys(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(group, size, representative index) per row for rows sharing a key.

    group: dense ids 0.. in order of first appearance for keys seen more than once, -1 for unique rows;
    the representative of a group is its first row.
    """
    n = len(keys)
    if n == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty
    _, first, inverse, counts = np.unique(keys, return_index=True, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    rep = first[inverse]
    size = counts[inverse]
    return _dense(rep, size), size.astype(np.int64), rep.astype(np.int64)


def groups_from_pairs(n: int, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Connected components of the pair graph: (group, size, representative index) per row, as above."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if n == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    # representative: the smallest row index (first in workspace order) of each component
    order = np.argsort(labels, kind="stable")
    first_of_label = np.full(labels.max() + 1, n, dtype=np.int64)
    np.minimum.at(first_of_label, labels[order], order)
    rep = first_of_label[labels]
    size = np.bincount(labels)[labels]
    return _dense(rep, size), size.astype(np.int64), rep.astype(np.int64)


def _dense(rep: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Group ids 0.. numbered by the representative's position; -1 where the group has one member."""
    group = np.full(len(rep), -1, dtype=np.int64)
    dup = size > 1
    if dup.any():
        _, ids = np.unique(rep[dup], return_inverse=True)
        group[dup] = ids.ravel()
    return group


def save_array(arr: np.ndarray, path: Path) -> None:
    """np.save through a temporary name, so a killed run never leaves half a checkpoint."""
    tmp = path.with_name(path.name + ".tmp.npy")
    np.save(tmp, arr)
    tmp.replace(path)


def group_column(group: np.ndarray):
    """Group ids as a nullable integer column: null for rows that are unique."""
    import pandas as pd

    s = pd.Series(group, dtype="Int64")
    return s.mask(s < 0)
