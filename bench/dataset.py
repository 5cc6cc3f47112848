"""A deterministic mixed dataset like a government office server's, for benchmarks.

Shares of the total size (default 1 GiB):
- 15 % source-code-like small files (1-24 KiB text, tens of thousands of them, nested dirs)
- 35 % SQL-dump-like text (a few large, very compressible files)
- 30 % scan-like incompressible files (200 KiB - 3 MiB, like scanned letters as PDF/JPEG)
- 20 % large files with partial duplicates (a VM-image-like file and an edited copy)

The same seed and size always give the same bytes. ``mutate`` changes about 1 % of the
data (some small files edited, a few added, one region of a large file rewritten) for the
incremental-backup measurement.

    python bench/dataset.py DIR [--size-mib 1024] [--seed 1]
"""

from __future__ import annotations

import argparse
import os
import random
from pathlib import Path

import blake3

WORDS = [
    "def",
    "class",
    "return",
    "import",
    "from",
    "self",
    "if",
    "else",
    "elif",
    "for",
    "while",
    "try",
    "except",
    "with",
    "as",
    "lambda",
    "yield",
    "None",
    "True",
    "False",
    "int",
    "str",
    "list",
    "dict",
    "data",
    "nik",
    "nama",
    "alamat",
    "kelurahan",
    "kecamatan",
    "kabupaten",
    "penduduk",
    "tanggal",
    "lahir",
    "agama",
    "pekerjaan",
    "status",
    "kawin",
    "golongan",
    "darah",
    "backup",
    "restore",
    "server",
    "database",
    "query",
    "select",
    "insert",
    "update",
    "delete",
    "where",
    "join",
    "order",
    "group",
    "having",
    "limit",
    "offset",
]


def noise(seed: str, size: int) -> bytes:
    """Incompressible, deterministic bytes (BLAKE3 in extendable-output mode)."""
    return blake3.blake3(seed.encode()).digest(length=size)


def code_text(rng: random.Random, size: int) -> bytes:
    lines = []
    total = 0
    while total < size:
        indent = "    " * rng.randint(0, 3)
        line = indent + " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 10)))
        lines.append(line)
        total += len(line) + 1
    return ("\n".join(lines) + "\n").encode()[:size]


def sql_text(rng: random.Random, size: int) -> bytes:
    out = bytearray(
        b"-- dump of table penduduk\nCREATE TABLE penduduk (nik char(16), nama text);\n"
    )
    names = ["Budi", "Siti", "Agus", "Dewi", "Made", "Ketut", "Wayan", "Nyoman", "Putu", "Sri"]
    places = ["Mojokerto", "Buleleng", "Trenggalek", "Surakarta", "Mentawai", "Denpasar"]
    while len(out) < size:
        rows = ",".join(
            f"('{rng.randrange(10**15, 10**16)}','{rng.choice(names)} {rng.choice(names)}',"
            f"'{rng.choice(places)}','19{rng.randint(40, 99)}-{rng.randint(1, 12):02d}-"
            f"{rng.randint(1, 28):02d}',{rng.randint(0, 9)})"
            for _ in range(200)
        )
        out += f"INSERT INTO penduduk VALUES {rows};\n".encode()
    return bytes(out[:size])


def generate(root: Path, size: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    # source code
    budget = int(size * 0.15)
    n = 0
    while budget > 0:
        d = root / "src" / f"app{n % 23:02d}" / f"module{(n // 23) % 37:02d}"
        d.mkdir(parents=True, exist_ok=True)
        length = min(budget, rng.randint(1024, 24 * 1024))
        (d / f"file{n:05d}.py").write_bytes(code_text(rng, length))
        budget -= length
        n += 1
    # SQL dumps
    budget = int(size * 0.35)
    d = root / "dumps"
    d.mkdir(exist_ok=True)
    i = 0
    while budget > 0:
        length = min(budget, rng.randint(40, 120) << 20)
        (d / f"db{i:02d}.sql").write_bytes(sql_text(rng, length))
        budget -= length
        i += 1
    # scans
    budget = int(size * 0.30)
    i = 0
    while budget > 0:
        d = root / "scans" / f"{2020 + i % 6}" / f"{i % 12 + 1:02d}"
        d.mkdir(parents=True, exist_ok=True)
        length = min(budget, rng.randint(200 << 10, 3 << 20))
        (d / f"surat-{i:05d}.pdf").write_bytes(noise(f"{seed}-scan-{i}", length))
        budget -= length
        i += 1
    # large files with partial duplicates: an image and a copy with edited regions
    half = int(size * 0.10)
    d = root / "images"
    d.mkdir(exist_ok=True)
    base = bytearray(noise(f"{seed}-image", half))
    (d / "vm-a.img").write_bytes(base)
    for k in range(8):
        off = rng.randrange(0, max(1, half - (256 << 10)))
        base[off : off + (256 << 10)] = noise(f"{seed}-edit-{k}", 256 << 10)
    (d / "vm-b.img").write_bytes(base)


def mutate(root: Path, fraction: float = 0.01, seed: int = 2) -> int:
    """Change about ``fraction`` of the bytes; returns the bytes written."""
    rng = random.Random(seed)
    files = sorted(p for p in root.rglob("*") if p.is_file())
    total = sum(p.stat().st_size for p in files)
    target = int(total * fraction)
    written = 0
    small = [p for p in files if p.suffix == ".py"]
    for p in rng.sample(small, min(len(small), 200)):
        extra = code_text(rng, 512)
        with p.open("ab") as f:
            f.write(extra)
        written += len(extra)
    for i in range(20):
        data = code_text(rng, 4096)
        (root / "src" / f"new-{seed}-{i}.py").write_bytes(data)
        written += len(data)
    big = root / "images" / "vm-b.img"
    region = max(0, target - written)
    if big.exists() and region:
        size = big.stat().st_size
        off = rng.randrange(0, max(1, size - region))
        with big.open("r+b") as f:
            f.seek(off)
            f.write(noise(f"mutate-{seed}", min(region, size)))
        written += region
    return written


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("dir", type=Path)
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    generate(args.dir, args.size_mib << 20, args.seed)
    print(
        f"generated {args.size_mib} MiB in {args.dir} ({sum(1 for _ in os.scandir(args.dir))} top dirs)"
    )


if __name__ == "__main__":
    main()
