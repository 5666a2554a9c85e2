"""Tests for merkle.py.

Known-answer vectors (tests/merkle_vectors.py and test_hasher_vectors) are
the RFC 6962 / RFC 9162 test data of github.com/transparency-dev/merkle
(proof/verify_test.go, rfc6962/rfc6962_test.go); the tests themselves are
written from scratch.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dunning._audit import merkle
from dunning._audit.merkle import Frontier, leaf_hash, node_hash
from merkle_vectors import CONSISTENCY_VECTORS, INCLUSION_VECTORS, LEAF_HASHES, ROOTS

SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


def _flip(h: bytes, bit: int = 3) -> bytes:
    return bytes([h[0] ^ (1 << bit)]) + h[1:]


def _tree(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


# --------------------------------------------------------------------------
# Hash primitives
# --------------------------------------------------------------------------


def test_hasher_vectors() -> None:
    assert (
        merkle.EMPTY_ROOT.hex()
        == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert merkle.root([]) == merkle.EMPTY_ROOT
    assert (
        leaf_hash(b"").hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    assert (
        leaf_hash(b"L123456").hex()
        == "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    )
    assert (
        node_hash(b"N123", b"N456").hex()
        == "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"
    )


def test_domain_separation() -> None:
    a, b = leaf_hash(b"Hello"), leaf_hash(b"World")
    assert node_hash(a, b) != leaf_hash(a + b)
    assert node_hash(a, b) != node_hash(b, a)
    assert node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()


@pytest.mark.parametrize("n", range(1, 9))
def test_roots(n: int) -> None:
    assert merkle.root(LEAF_HASHES[:n]) == ROOTS[n - 1]


# --------------------------------------------------------------------------
# Inclusion vectors
# --------------------------------------------------------------------------


# Argument tuples for verify_inclusion / verify_consistency.
InclusionArgs = tuple[int, int, bytes, list[bytes], bytes]
ConsistencyArgs = tuple[int, int, bytes, bytes, list[bytes]]


def _corrupt_inclusion(
    index: int, size: int, path: list[bytes], root: bytes, leaf: bytes
) -> list[InclusionArgs]:
    """Single mutations of a valid proof; all must be rejected."""
    probes: list[InclusionArgs] = [
        (index - 1, size, leaf, path, root),
        (index + 1, size, leaf, path, root),
        (index ^ 2, size, leaf, path, root),
        (index, size * 2, leaf, path, root),
        (index, size // 2, leaf, path, root),
        (index, size, leaf_hash(b"WrongLeaf"), path, root),
        (index, size, leaf, path, merkle.EMPTY_ROOT),
        (index, size, leaf, path, SOME_HASH),
        (index, size, leaf, [*path, b""], root),
        (index, size, leaf, [*path, root], root),
        (index, size, leaf, [b"", *path], root),
        (index, size, leaf, [root, *path], root),
    ]
    for i in range(len(path)):
        bad = list(path)
        bad[i] = _flip(bad[i])
        probes.append((index, size, leaf, bad, root))
    if path:
        probes.append((index, size, leaf, path[:-1], root))
    if len(path) > 1:
        probes.append((index, size, leaf, [path[0], SOME_HASH, *path[1:]], root))
    return probes


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION_VECTORS)
def test_inclusion_vectors(index: int, size: int, path: list[bytes]) -> None:
    leaves = LEAF_HASHES[:size]
    assert merkle.inclusion_path(index, leaves) == path
    assert merkle.verify_inclusion(index, size, leaves[index], path, ROOTS[size - 1])
    for probe in _corrupt_inclusion(index, size, path, ROOTS[size - 1], leaves[index]):
        assert not merkle.verify_inclusion(*probe), probe


def test_inclusion_degenerate_inputs() -> None:
    for index, size in [(0, 0), (0, 1), (1, 0), (2, 1)]:
        assert not merkle.verify_inclusion(index, size, SOME_HASH, [], merkle.EMPTY_ROOT)
    h = leaf_hash(b"data")
    assert merkle.verify_inclusion(0, 1, h, [], h)  # single leaf: root == leaf hash
    assert not merkle.verify_inclusion(0, 1, b"", [], b"")  # wrong hash length
    assert not merkle.verify_inclusion(0, 1, h, [], h[:31])
    with pytest.raises(ValueError, match="out of range"):
        merkle.inclusion_path(3, LEAF_HASHES[:3])
    with pytest.raises(ValueError, match="out of range"):
        merkle.inclusion_path(0, [])


def test_inclusion_does_not_bind_tree_size() -> None:
    """Documented limitation of RFC 9162 proofs: a proof for (0, size 3)
    also verifies as (0, size 4) because both trees have the same shape
    along that path.  The size must come from the signed checkpoint, which
    checkpoint.verify_inclusion enforces."""
    path = merkle.inclusion_path(0, LEAF_HASHES[:3])
    assert merkle.verify_inclusion(0, 4, LEAF_HASHES[0], path, ROOTS[2])


# --------------------------------------------------------------------------
# Consistency vectors
# --------------------------------------------------------------------------


def _corrupt_consistency(
    m: int, n: int, r1: bytes, r2: bytes, path: list[bytes]
) -> list[ConsistencyArgs]:
    probes: list[ConsistencyArgs] = [
        (m - 1, n, r1, r2, path),
        (m + 1, n, r1, r2, path),
        (m ^ 2, n, r1, r2, path),
        (m, n * 2, r1, r2, path),
        (m, n // 2, r1, r2, path),
        (m, n, leaf_hash(b"WrongRoot"), r2, path),
        (m, n, r1, leaf_hash(b"WrongRoot"), path),
        (m, n, r2, r1, path),
        (m, n, r1, r2, []),
        (m, n, r1, r2, [*path, b""]),
        (m, n, r1, r2, [*path, r1]),
        (m, n, r1, r2, [*path, r2]),
        (m, n, r1, r2, [b"", *path]),
        (m, n, r1, r2, [r1, *path]),
        (m, n, r1, r2, [r2, *path]),
        (m, n, r1, r2, [path[0], *path]),
        (m, n, r1, r2, path[:-1]),
    ]
    for i in range(len(path)):
        bad = list(path)
        bad[i] = _flip(bad[i], 4)
        probes.append((m, n, r1, r2, bad))
    return probes


@pytest.mark.parametrize(("old", "new", "path"), CONSISTENCY_VECTORS)
def test_consistency_vectors(old: int, new: int, path: list[bytes]) -> None:
    r1, r2 = ROOTS[old - 1], ROOTS[new - 1]
    assert merkle.consistency_path(old, LEAF_HASHES[:new]) == path
    assert merkle.verify_consistency(old, new, r1, r2, path)
    if path:
        for probe in _corrupt_consistency(old, new, r1, r2, path):
            assert not merkle.verify_consistency(*probe), probe


def test_consistency_trivial_cases() -> None:
    e, r = merkle.EMPTY_ROOT, ROOTS[0]
    assert merkle.verify_consistency(0, 0, e, e, [])
    assert merkle.verify_consistency(0, 5, e, ROOTS[4], [])
    assert not merkle.verify_consistency(0, 5, r, ROOTS[4], [])  # size 0 must have the empty root
    assert merkle.verify_consistency(1, 1, r, r, [])
    assert not merkle.verify_consistency(1, 1, r, ROOTS[1], [])  # same size, different root
    assert not merkle.verify_consistency(1, 1, r, r, [e])  # same size, non-empty proof
    assert not merkle.verify_consistency(0, 1, e, r, [e])
    assert not merkle.verify_consistency(1, 0, r, e, [])  # time travel
    assert not merkle.verify_consistency(2, 1, ROOTS[1], r, [])
    assert not merkle.verify_consistency(1, 2, r, ROOTS[1], [])  # empty proof
    assert merkle.consistency_path(0, LEAF_HASHES) == []
    assert merkle.consistency_path(8, LEAF_HASHES) == []
    with pytest.raises(ValueError, match="old_size"):
        merkle.consistency_path(9, LEAF_HASHES)


# --------------------------------------------------------------------------
# Exhaustive small trees and properties
# --------------------------------------------------------------------------


def test_exhaustive_small_trees() -> None:
    for n in range(1, 65):
        leaves = _tree(n)
        r = merkle.root(leaves)
        for i in range(n):
            assert merkle.verify_inclusion(i, n, leaves[i], merkle.inclusion_path(i, leaves), r)
        for m in range(n + 1):
            path = merkle.consistency_path(m, leaves)
            assert merkle.verify_consistency(m, n, merkle.root(leaves[:m]), r, path), (m, n)


@settings(max_examples=150, deadline=None)
@given(size=st.integers(1, 200), data=st.data())
def test_inclusion_properties(size: int, data: st.DataObject) -> None:
    leaves = _tree(size)
    r = merkle.root(leaves)
    i = data.draw(st.integers(0, size - 1), label="index")
    path = merkle.inclusion_path(i, leaves)
    assert merkle.verify_inclusion(i, size, leaves[i], path, r)
    assert not merkle.verify_inclusion(i, size, _flip(leaves[i]), path, r)
    assert not merkle.verify_inclusion(i, size, leaves[i], path, _flip(r))
    if path:
        k = data.draw(st.integers(0, len(path) - 1), label="tampered element")
        assert not merkle.verify_inclusion(
            i, size, leaves[i], [*path[:k], _flip(path[k]), *path[k + 1 :]], r
        )
    j = data.draw(st.integers(0, size - 1), label="other index")
    if j != i:  # for a fixed size, the path pins the index
        assert not merkle.verify_inclusion(j, size, leaves[i], path, r)
    # A different size is only accepted when its path has the very same
    # shape (see test_inclusion_does_not_bind_tree_size); any size whose
    # audit path has a different length must be rejected.
    other = data.draw(st.integers(i + 1, 400), label="other size")
    if len(merkle.inclusion_path(i, _tree(other))) != len(path):
        assert not merkle.verify_inclusion(i, other, leaves[i], path, r)


@settings(max_examples=150, deadline=None)
@given(new=st.integers(1, 200), data=st.data())
def test_consistency_properties(new: int, data: st.DataObject) -> None:
    leaves = _tree(new)
    old = data.draw(st.integers(0, new), label="old size")
    r1, r2 = merkle.root(leaves[:old]), merkle.root(leaves)
    path = merkle.consistency_path(old, leaves)
    assert merkle.verify_consistency(old, new, r1, r2, path)
    assert not merkle.verify_consistency(old, new, _flip(r1), r2, path)
    if old:  # every tree extends the empty one, so only then does r2 matter
        assert not merkle.verify_consistency(old, new, r1, _flip(r2), path)
    if path:
        k = data.draw(st.integers(0, len(path) - 1), label="tampered element")
        assert not merkle.verify_consistency(
            old, new, r1, r2, [*path[:k], _flip(path[k]), *path[k + 1 :]]
        )
    # A forked log (different leaf inside the old range) is not consistent.
    if old:
        forked = list(leaves)
        forked[data.draw(st.integers(0, old - 1), label="forked leaf")] = leaf_hash(b"fork")
        assert not merkle.verify_consistency(old, new, r1, merkle.root(forked), path)


# --------------------------------------------------------------------------
# Frontier and node-store proofs
# --------------------------------------------------------------------------


def test_frontier_matches_root_for_every_size() -> None:
    leaves = _tree(300)
    f = Frontier()
    assert f.root() == merkle.EMPTY_ROOT
    store: dict[tuple[int, int], bytes] = {}
    for n, lh in enumerate(leaves, start=1):
        for level, index, h in f.append(lh):
            assert (level, index) not in store  # nodes are created exactly once
            store[(level, index)] = h
        assert f.size == n
        assert len(f.hashes) == n.bit_count()  # O(log n) state
        assert f.root() == merkle.root(leaves[:n])
    levels = merkle.build_levels(leaves)
    assert store == {(lv, i): h for lv, row in enumerate(levels) for i, h in enumerate(row)}


def test_frontier_persistence_round_trip() -> None:
    leaves = _tree(77)
    f = Frontier()
    for lh in leaves[:50]:
        f.append(lh)
    g = Frontier.from_hex(f.to_hex())
    levels = merkle.build_levels(leaves[:50])
    h = Frontier.from_nodes(50, lambda lv, i: levels[lv][i])
    for fr in (f, g, h):
        for lh in leaves[50:]:
            fr.append(lh)
        assert fr.root() == merkle.root(leaves)
    with pytest.raises(ValueError, match="needs"):
        Frontier(5, [SOME_HASH])
    with pytest.raises(ValueError, match="32 bytes"):
        Frontier().append(b"short")
    with pytest.raises(ValueError, match="malformed"):
        Frontier.from_hex({"size": True, "hashes": []})


def test_proofs_from_node_store_are_logarithmic() -> None:
    """Proofs served from stored nodes touch O(log n) nodes, not O(n)."""
    n = 100_003
    leaves = _tree(n)
    levels = merkle.build_levels(leaves)
    calls = 0

    def node_at(level: int, index: int) -> bytes:
        nonlocal calls
        calls += 1
        return levels[level][index]

    r = merkle.subtree_hash(0, n, node_at)
    assert r == Frontier.from_nodes(n, node_at).root()
    for i in (0, 1, 65_536, n - 2, n - 1):
        calls = 0
        path = merkle.inclusion_path_from_nodes(i, n, node_at)
        assert calls <= 2 * n.bit_length() ** 2
        assert merkle.verify_inclusion(i, n, leaves[i], path, r)
    for m in (1, 3, 65_536, 99_999, n - 1):
        calls = 0
        path = merkle.consistency_path_from_nodes(m, n, node_at)
        assert calls <= 2 * n.bit_length() ** 2
        assert merkle.verify_consistency(m, n, merkle.subtree_hash(0, m, node_at), r, path)


def test_node_getter_from_leaves() -> None:
    leaves = _tree(37)
    node_at = merkle.node_getter_from_leaves(leaves.__getitem__)
    for i in range(37):
        assert merkle.inclusion_path_from_nodes(i, 37, node_at) == merkle.inclusion_path(i, leaves)
    for m in range(38):
        assert merkle.consistency_path_from_nodes(m, 37, node_at) == merkle.consistency_path(
            m, leaves
        )


def test_subtree_hash_arbitrary_ranges() -> None:
    leaves = _tree(20)
    levels = merkle.build_levels(leaves)
    for b in range(20):
        for e in range(b + 1, 21):
            assert merkle.subtree_hash(b, e, lambda lv, i: levels[lv][i]) == merkle.root(
                leaves[b:e]
            )
    with pytest.raises(ValueError, match="range"):
        merkle.subtree_hash(3, 3, lambda lv, i: b"")
