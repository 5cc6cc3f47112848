"""The index: lookups (small, merged and mixed), duplicates, index files, reloading."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest
from conftest import reopen
from hypothesis import given, settings
from hypothesis import strategies as st

from cadang.backends import FileType
from cadang.errors import IntegrityError
from cadang.repo.index import Index, IndexEntry, decode_index_file, encode_index_file
from cadang.repo.pack import BlobType, PackedBlob
from cadang.repo.repository import Repository


def blob_id(i: int) -> bytes:
    return hashlib.sha256(i.to_bytes(8, "little")).digest()


def pack_id(i: int) -> str:
    return hashlib.sha256(b"pack" + i.to_bytes(8, "little")).hexdigest()


def packed(i: int, offset: int = 0, btype: BlobType = BlobType.DATA) -> PackedBlob:
    return PackedBlob(btype, blob_id(i), offset, 100 + i % 1000, 90 + i % 1000)


def test_small_index_lookup() -> None:
    idx = Index()
    idx.add_pack(pack_id(1), [packed(1, 0), packed(2, 130, BlobType.TREE)])
    assert idx.lookup(blob_id(1)) == IndexEntry(pack_id(1), BlobType.DATA, blob_id(1), 0, 101, 91)
    entry = idx.lookup(blob_id(2))
    assert entry is not None and entry.type is BlobType.TREE and entry.offset == 130
    assert idx.lookup(blob_id(3)) is None
    assert blob_id(1) in idx and blob_id(3) not in idx
    assert "not bytes" not in idx
    assert len(idx) == 2
    assert idx.packs() == {pack_id(1)}


def test_large_index_uses_the_merged_table() -> None:
    """More than 50k entries forces the sorted table; lookups hit table and recent dict."""
    idx = Index()
    n_packs, per_pack = 130, 500  # 65,000 blobs: one merge at 50k, the rest stays recent
    for p in range(n_packs):
        idx.add_pack(
            pack_id(p),
            [packed(p * per_pack + j, j * 200) for j in range(per_pack)],
        )
    total = n_packs * per_pack
    rng = random.Random(3)
    for i in [*rng.sample(range(total), 3000), 0, total - 1, 49_999, 50_000]:
        e = idx.lookup(blob_id(i))
        assert e is not None, i
        assert e.pack == pack_id(i // per_pack)
        assert e.offset == (i % per_pack) * 200
        assert e.length == 100 + i % 1000
        assert e.raw_length == 90 + i % 1000
    for i in range(total, total + 2000):
        assert not idx.has(blob_id(i))
    assert len(idx) == total
    assert len(idx.packs()) == n_packs
    ids = [e.id for e in idx.entries()]
    assert ids == sorted(ids) and len(ids) == total


def test_duplicates_across_packs() -> None:
    idx = Index()
    idx.add_pack(pack_id(1), [packed(1, 0), packed(2, 200)])
    idx.add_pack(pack_id(2), [packed(2, 0), packed(3, 200)])
    e = idx.lookup(blob_id(2))
    assert e is not None and e.pack in {pack_id(1), pack_id(2)}
    # Either copy is fine, but the entry must be self-consistent.
    assert e.offset == (200 if e.pack == pack_id(1) else 0)
    assert idx.packs() == {pack_id(1), pack_id(2)}
    assert {x.id for x in idx.entries()} == {blob_id(1), blob_id(2), blob_id(3)}


def test_duplicates_across_packs_after_merge() -> None:
    idx = Index()
    idx.add_pack(pack_id(1), [packed(i, i) for i in range(30_000)])
    idx.add_pack(pack_id(2), [packed(i, i + 7) for i in range(20_000, 50_000)])
    assert len(idx) == 60_000  # both copies of the 10k duplicates are kept
    for i in (0, 20_000, 25_000, 29_999, 49_999):
        e = idx.lookup(blob_id(i))
        assert e is not None
        assert e.offset == (i if e.pack == pack_id(1) else i + 7)
    assert idx.packs() == {pack_id(1), pack_id(2)}


index_files = st.dictionaries(
    st.binary(min_size=32, max_size=32).map(bytes.hex),
    st.lists(
        st.builds(
            PackedBlob,
            st.sampled_from(list(BlobType)),
            st.binary(min_size=32, max_size=32),
            st.integers(0, 2**32 - 1),
            st.integers(0, 2**32 - 1),
            st.integers(0, 2**32 - 1),
        ),
        max_size=20,
    ),
    max_size=8,
)


@settings(max_examples=50)
@given(packs=index_files)
def test_index_file_roundtrip(packs: dict[str, list[PackedBlob]]) -> None:
    assert decode_index_file(encode_index_file(packs), "i") == packs


@pytest.mark.parametrize(
    "data",
    [b"", b"not zstd at all", __import__("zstandard").ZstdCompressor().compress(b"\x93\x01")],
)
def test_malformed_index_file(data: bytes) -> None:
    with pytest.raises(IntegrityError, match="index file"):
        decode_index_file(data, "i")


def test_index_file_of_unknown_version() -> None:
    import msgpack
    import zstandard

    raw = zstandard.ZstdCompressor().compress(msgpack.packb({"version": 2, "packs": []}))
    with pytest.raises(IntegrityError, match="unknown index version"):
        decode_index_file(raw, "i")


def test_repository_index_survives_reopen(repo: Repository, repo_path: Path) -> None:
    ids = {}
    for i in range(50):
        data = random.Random(i).randbytes(2000 + i)
        bid, new = repo.save_blob(BlobType.DATA, data)
        assert new
        ids[bid] = data
    # Saving the same content again is deduplicated, before and after the flush.
    assert repo.save_blob(BlobType.DATA, random.Random(0).randbytes(2000)) == (
        next(iter(ids)),
        False,
    )
    repo.flush()
    assert repo.list_files(FileType.INDEX)
    again = reopen(repo_path)
    for bid, data in ids.items():
        assert again.has_blob(bid)
        assert again.load_blob(bid) == data
    assert again.save_blob(BlobType.DATA, random.Random(3).randbytes(2003))[1] is False


def test_duplicate_blob_in_two_packs_reads_from_either(repo_path: Path, repo: Repository) -> None:
    """Two backups racing can store one blob twice; both index files load and it reads."""
    data = b"the same chunk" * 100
    bid, _ = repo.save_blob(BlobType.DATA, data)
    repo.flush()
    other = reopen(repo_path)
    other.index = Index()  # as if it had opened before the first flush
    other.save_blob(BlobType.DATA, data)
    other.flush()
    assert len(repo.list_files(FileType.INDEX)) == 2
    third = reopen(repo_path)
    assert len(third.index.packs()) == 2
    assert third.load_blob(bid) == data
