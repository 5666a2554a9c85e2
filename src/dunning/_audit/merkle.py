"""RFC 9162 (Certificate Transparency v2) Merkle tree primitives.

Everything here works on 32-byte SHA-256 hashes as ``bytes``.

Terminology used below:

* *leaf hash*  -- ``SHA-256(0x00 || data)`` for one log entry.
* *node(level, index)* -- the hash of the *perfect* subtree that covers the
  leaves ``[index << level, (index + 1) << level)``.  ``node(0, i)`` is leaf
  hash ``i``.  Once a node exists it never changes (the log is append-only),
  so a store may persist it forever and look it up by ``(level, index)``.
* *frontier* -- the perfect subtrees that exactly cover ``[0, size)``; one per
  set bit of ``size``, largest first.  It is all you need to append and to
  compute the current root.

Proof generation is written against a ``NodeGetter`` callback
(``node_at(level, index) -> bytes``) so that a store can serve it from
persisted nodes in ``O(log n)`` lookups, instead of rehashing all leaves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from .._base.errors import InputError

HASH_SIZE = 32
# SHA-256 of the empty string: RFC 9162 §2.1.1 defines MTH({}) = HASH().
EMPTY_ROOT = hashlib.sha256(b"").digest()

# node_at(level, index) -> hash of the perfect subtree, see module docstring.
NodeGetter = Callable[[int, int], bytes]


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = HASH(0x00 || d).  The 0x00 prefix separates leaves from
    interior nodes so a leaf can never be passed off as a node (second
    preimage attack on naive Merkle trees)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """HASH(0x01 || left || right), RFC 9162 §2.1.1."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly smaller than ``n`` (requires n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _is_aligned_perfect(begin: int, end: int) -> bool:
    size = end - begin
    return size > 0 and size & (size - 1) == 0 and begin % size == 0


# --------------------------------------------------------------------------
# Subtree hashes over a node store
# --------------------------------------------------------------------------


def subtree_hash(begin: int, end: int, node_at: NodeGetter) -> bytes:
    """MTH(D[begin:end]) using stored perfect nodes where possible.

    RFC 9162 splits every range at the largest power of two below its length.
    For the ranges that proofs need (perfect aligned subtrees, or ranges that
    end at the tree size) this touches O(log n) nodes; it is still correct for
    arbitrary ranges, it just descends further.
    """
    if begin >= end:
        if begin == end == 0:
            return EMPTY_ROOT
        raise InputError(f"empty or inverted range [{begin}, {end})")
    if _is_aligned_perfect(begin, end):
        level = (end - begin).bit_length() - 1
        return node_at(level, begin >> level)
    k = _split(end - begin)
    return node_hash(
        subtree_hash(begin, begin + k, node_at),
        subtree_hash(begin + k, end, node_at),
    )


def inclusion_path_from_nodes(index: int, size: int, node_at: NodeGetter) -> list[bytes]:
    """PATH(m, D[n]) from RFC 9162 §2.1.3.1, leaf-to-root order."""
    if not 0 <= index < size:
        raise InputError(f"leaf index {index} out of range for tree size {size}")
    path: list[bytes] = []
    # Walk top-down (as the RFC recursion does) and emit bottom-up at the end.
    begin, end = 0, size
    while end - begin > 1:
        k = _split(end - begin)
        if index - begin < k:
            path.append(subtree_hash(begin + k, end, node_at))
            end = begin + k
        else:
            path.append(subtree_hash(begin, begin + k, node_at))
            begin += k
    path.reverse()
    return path


def consistency_path_from_nodes(old_size: int, new_size: int, node_at: NodeGetter) -> list[bytes]:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true), RFC 9162 §2.1.4.1.

    Returns [] for old_size in (0, new_size): nothing needs proving there.
    """
    if not 0 <= old_size <= new_size:
        raise InputError(f"need 0 <= old_size <= new_size, got {old_size}, {new_size}")
    if old_size in (0, new_size):
        return []
    path: list[bytes] = []
    m, begin, end, complete = old_size, 0, new_size, True
    while m != end - begin:
        k = _split(end - begin)
        if m <= k:
            path.append(subtree_hash(begin + k, end, node_at))
            end = begin + k
        else:
            path.append(subtree_hash(begin, begin + k, node_at))
            m -= k
            begin += k
            complete = False
    if not complete:
        # SUBPROOF(m, D[m], false) = {MTH(D[m])}: the old tree's subtree is
        # not a prefix of the proof already, so the verifier needs it.
        path.append(subtree_hash(begin, end, node_at))
    path.reverse()
    return path


# --------------------------------------------------------------------------
# Convenience API over a plain list of leaf hashes
# --------------------------------------------------------------------------


def build_levels(leaf_hashes: Sequence[bytes]) -> list[list[bytes]]:
    """All perfect nodes: ``levels[l][i] == node(l, i)``.  O(n) hashes."""
    levels = [list(leaf_hashes)]
    while len(levels[-1]) > 1:
        prev = levels[-1]
        levels.append([node_hash(prev[i], prev[i + 1]) for i in range(0, len(prev) - 1, 2)])
    return levels


def _getter(levels: list[list[bytes]]) -> NodeGetter:
    return lambda level, index: levels[level][index]


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) for any n, including 0 (EMPTY_ROOT)."""
    if not leaf_hashes:
        return EMPTY_ROOT
    return subtree_hash(0, len(leaf_hashes), _getter(build_levels(leaf_hashes)))


def inclusion_path(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """Audit path for leaf ``index`` in the tree of all ``leaf_hashes``."""
    levels = build_levels(leaf_hashes)
    return inclusion_path_from_nodes(index, len(leaf_hashes), _getter(levels))


def consistency_path(old_size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """Consistency proof from ``old_size`` to ``len(leaf_hashes)``."""
    levels = build_levels(leaf_hashes)
    return consistency_path_from_nodes(old_size, len(leaf_hashes), _getter(levels))


def node_getter_from_leaves(leaf_hash_at: Callable[[int], bytes]) -> NodeGetter:
    """Build ``node_at`` from a leaf-hash callback, memoising computed nodes.

    A proof then costs O(n) leaf reads the first time (every leaf is under
    some path node) but repeated proofs against the same getter reuse the
    memo.  Prefer persisting the nodes ``Frontier.append`` reports.
    """
    memo: dict[tuple[int, int], bytes] = {}

    def node_at(level: int, index: int) -> bytes:
        if level == 0:
            return leaf_hash_at(index)
        key = (level, index)
        if key not in memo:
            memo[key] = node_hash(node_at(level - 1, 2 * index), node_at(level - 1, 2 * index + 1))
        return memo[key]

    return node_at


# --------------------------------------------------------------------------
# Incremental frontier
# --------------------------------------------------------------------------


class Frontier:
    """Compact range ``[0, size)``: one perfect-subtree hash per set bit of
    ``size``, largest (leftmost) first.  Append is amortised O(1) hashes and
    O(log n) worst case; root is O(log n).  Persist ``(size, hashes)``."""

    __slots__ = ("_hashes", "_size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if size < 0 or len(hashes) != size.bit_count():
            raise InputError(
                f"size {size} needs {max(size, 0).bit_count()} hashes, got {len(hashes)}"
            )
        if any(len(h) != HASH_SIZE for h in hashes):
            raise InputError("frontier hashes must be 32 bytes")
        self._size = size
        self._hashes = list(hashes)

    @property
    def size(self) -> int:
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        return tuple(self._hashes)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Append one *leaf hash*; return the nodes this completes as
        ``(level, index, hash)`` -- the leaf itself first -- so a store can
        persist them and later serve ``node_at`` for proofs."""
        if len(leaf) != HASH_SIZE:
            raise InputError("leaf hash must be 32 bytes")
        index = self._size
        created = [(0, index, leaf)]
        h, level = leaf, 0
        # Each trailing 1-bit of the old size is a left sibling of equal
        # height waiting for this subtree; merge like a binary carry.
        while (index >> level) & 1:
            h = node_hash(self._hashes.pop(), h)
            level += 1
            created.append((level, index >> level, h))
        self._hashes.append(h)
        self._size += 1
        return created

    def root(self) -> bytes:
        """MTH of the whole tree: fold the frontier right-to-left, which is
        exactly how RFC 9162 combines a perfect left part with the rest."""
        if not self._hashes:
            return EMPTY_ROOT
        acc = self._hashes[-1]
        for h in reversed(self._hashes[:-1]):
            acc = node_hash(h, acc)
        return acc

    def to_hex(self) -> dict[str, object]:
        return {"size": self._size, "hashes": [h.hex() for h in self._hashes]}

    @classmethod
    def from_hex(cls, data: dict[str, object]) -> Frontier:
        size, hashes = data["size"], data["hashes"]
        if not isinstance(size, int) or isinstance(size, bool) or not isinstance(hashes, list):
            raise InputError("malformed frontier")
        return cls(size, [bytes.fromhex(h) for h in hashes])

    @classmethod
    def from_nodes(cls, size: int, node_at: NodeGetter) -> Frontier:
        """Rebuild the frontier from a node store (e.g. after a crash)."""
        hashes, begin = [], 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                hashes.append(node_at(level, begin >> level))
                begin += 1 << level
        return cls(size, hashes)


# --------------------------------------------------------------------------
# Verifiers: transcriptions of RFC 9162 §2.1.3.2 and §2.1.4.2
# --------------------------------------------------------------------------


def _ok_hashes(*hashes: bytes) -> bool:
    return all(isinstance(h, bytes) and len(h) == HASH_SIZE for h in hashes)


def verify_inclusion(
    index: int, size: int, leaf: bytes, path: Sequence[bytes], root_hash: bytes
) -> bool:
    """RFC 9162 §2.1.3.2.  ``leaf`` is the leaf *hash*."""
    if not _ok_hashes(leaf, root_hash, *path):
        return False
    # 1. leaf_index >= tree_size fails.
    if not 0 <= index < size:
        return False
    # 2./3.
    fn, sn, r = index, size - 1, leaf
    # 4.
    for p in path:
        if sn == 0:  # a. path longer than the tree is tall
            return False
        if fn & 1 or fn == sn:  # b.
            r = node_hash(p, r)
            # ii. On the right edge (fn == sn, even) skip the levels where
            # this subtree has no right sibling and is promoted unchanged.
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1  # c.
        sn >>= 1
    # 5.
    return sn == 0 and r == root_hash


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, path: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2 for 0 < old_size < new_size, plus the trivial cases
    the RFC leaves to the caller: equal sizes need equal roots and an empty
    path; old_size 0 needs old_root == EMPTY_ROOT and an empty path."""
    if not _ok_hashes(old_root, new_root, *path):
        return False
    if not 0 <= old_size <= new_size:
        return False
    if old_size == new_size:
        return not path and old_root == new_root
    if old_size == 0:
        return not path and old_root == EMPTY_ROOT
    # 1.
    if not path:
        return False
    # 2. If first is a power of two the old root is itself a node of the new
    # tree, so the proof omits it; put it back.
    nodes = list(path)
    if old_size & (old_size - 1) == 0:
        nodes.insert(0, old_root)
    # 3.
    fn, sn = old_size - 1, new_size - 1
    # 4.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5.
    fr = sr = nodes[0]
    # 6.
    for c in nodes[1:]:
        if sn == 0:  # a.
            return False
        if fn & 1 or fn == sn:  # b.
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:  # iii., as in verify_inclusion
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1  # c.
        sn >>= 1
    # 7.
    return fr == old_root and sr == new_root and sn == 0
