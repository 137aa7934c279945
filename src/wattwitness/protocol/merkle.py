"""RFC 6962 Merkle Tree Hash and audit paths over a batch of records in chain order (PROTOCOL.md §6)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def leaf_hash(record: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + record).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _root_of_leaves(leaves: Sequence[bytes]) -> bytes:
    # Iterative form of MTH: pairing level by level and promoting an odd last node gives the same
    # tree as the recursive split at the largest power of two, without recursion depth limits.
    level = list(leaves)
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def merkle_root(records: Sequence[bytes]) -> bytes:
    if not records:
        raise ValueError("a Merkle tree needs at least one record")
    return _root_of_leaves([leaf_hash(r) for r in records])


def audit_path(records: Sequence[bytes], index: int) -> list[bytes]:
    """RFC 6962 PATH(m, D[n]): sibling hashes from the leaf up to the root."""
    if not 0 <= index < len(records):
        raise IndexError(f"leaf {index} outside a tree of {len(records)}")
    return _path([leaf_hash(r) for r in records], index)


def _path(leaves: list[bytes], m: int) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*_path(leaves[:k], m), _root_of_leaves(leaves[k:])]
    return [*_path(leaves[k:], m - k), _root_of_leaves(leaves[:k])]


def verify_inclusion(record: bytes, index: int, tree_size: int, path: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2 inclusion check: recompute the root from the leaf and its audit path."""
    if not 0 <= index < tree_size:
        return False
    fn, sn = index, tree_size - 1
    node = leaf_hash(record)
    for sibling in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            node = node_hash(sibling, node)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            node = node_hash(node, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and node == root
