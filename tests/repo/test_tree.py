"""Tree blobs: deterministic encoding, raw-byte names, and refusal of unsafe names."""

from __future__ import annotations

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadang.errors import IntegrityError
from cadang.repo.tree import Node, NodeType, decode_tree, encode_tree, valid_name

names = st.binary(min_size=1, max_size=80).filter(valid_name)
ids = st.binary(min_size=32, max_size=32)
u32 = st.integers(0, 2**32 - 1)


@st.composite
def nodes(draw: st.DrawFn) -> Node:
    ntype = draw(st.sampled_from(list(NodeType)))
    node = Node(
        name=draw(names),
        type=ntype,
        mode=draw(st.integers(0, 0o7777)),
        uid=draw(u32),
        gid=draw(u32),
        user=draw(st.text(max_size=10)),
        group=draw(st.text(max_size=10)),
        mtime_ns=draw(st.integers(-(2**62), 2**62)),
        ctime_ns=draw(st.integers(0, 2**62)),
        inode=draw(st.integers(0, 2**64 - 1)),
        device=draw(st.integers(0, 2**64 - 1)),
        links=draw(st.integers(1, 1000)),
        xattrs=draw(
            st.lists(st.tuples(st.binary(min_size=1, max_size=20), st.binary(max_size=50)))
        ),
    )
    if ntype is NodeType.FILE:
        node.content = draw(st.lists(ids, max_size=5))
        node.size = draw(st.integers(0, 2**50))
    elif ntype is NodeType.DIR:
        node.subtree = draw(ids)
    elif ntype is NodeType.SYMLINK:
        node.target = draw(st.binary(min_size=1, max_size=100))
    elif ntype in (NodeType.CHARDEV, NodeType.BLOCKDEV):
        node.rdev = draw(st.integers(0, 2**32))
    return node


tree_nodes = st.lists(nodes(), max_size=12, unique_by=lambda n: n.name)


@settings(max_examples=80)
@given(tree_nodes)
def test_tree_roundtrip(ns: list[Node]) -> None:
    decoded = decode_tree(encode_tree(ns), "tree")
    assert decoded == sorted(ns, key=lambda n: n.name)


@settings(max_examples=30)
@given(tree_nodes, st.randoms())
def test_encoding_is_deterministic(ns: list[Node], rnd: object) -> None:
    shuffled = list(ns)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert encode_tree(shuffled) == encode_tree(ns)


def test_non_utf8_names_survive() -> None:
    n = Node(name=b"caf\xe9 \xff\xfe\n-x", type=NodeType.FILE)
    (back,) = decode_tree(encode_tree([n]), "tree")
    assert back.name == b"caf\xe9 \xff\xfe\n-x"
    assert back.display_name == "caf\udce9 \udcff\udcfe\n-x"


@pytest.mark.parametrize("bad", [b"", b".", b"..", b"a/b", b"/", b"../etc", b"nul\0byte"])
def test_unsafe_names_are_rejected(bad: bytes) -> None:
    assert not valid_name(bad)
    data = encode_tree([Node(name=bad, type=NodeType.FILE)])
    with pytest.raises(IntegrityError, match="invalid or repeated"):
        decode_tree(data, "tree x")


def test_repeated_names_are_rejected() -> None:
    raw = msgpack.packb(
        {
            "version": 1,
            "nodes": [
                Node(name=b"a", type=NodeType.FILE).to_obj(),
                Node(name=b"a", type=NodeType.DIR, subtree=b"x" * 32).to_obj(),
            ],
        },
        use_bin_type=True,
    )
    with pytest.raises(IntegrityError, match="repeated"):
        decode_tree(raw, "tree")


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\xc1",
        msgpack.packb([1, 2, 3]),
        msgpack.packb({"version": 2, "nodes": []}),
        msgpack.packb({"version": 1}),
        msgpack.packb({"version": 1, "nodes": [{"name": b"x"}]}),
        msgpack.packb({"version": 1, "nodes": [{"name": b"x", "type": "weird"}]}),
        msgpack.packb({"version": 1, "nodes": [1]}),
        msgpack.packb({"version": 1, "nodes": []}) + b"trailing",
    ],
)
def test_malformed_trees_are_integrity_errors(raw: bytes) -> None:
    with pytest.raises(IntegrityError, match="not a valid tree"):
        decode_tree(raw, "tree")


def test_empty_tree() -> None:
    assert decode_tree(encode_tree([]), "tree") == []
