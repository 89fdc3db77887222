"""Where benchmark data lives, how to check it and how to fetch it.

Resolution order: explicit ``--data-dir`` > ``$HARNESS_DATA_DIR`` > the user cache dir
(``$XDG_CACHE_HOME/moat-harness/data``). The layout is ``<data_dir>/<benchmark>/<file>`` as in
``shared/benchmarks``. Data is never copied into the repository.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from importlib import resources
from pathlib import Path


class DataMissingError(FileNotFoundError):
    """A data file an environment needs is absent; the message says what to run."""


@dataclass(frozen=True)
class DataFile:
    """One file of a benchmark, relative to the data dir."""

    path: str
    """E.g. ``gsm8k/test.jsonl``."""
    url: str | None = None
    """Public home of the file, for ``harness data download``."""
    sha256: str | None = None
    required: bool = True
    package: str | None = None
    """A Python package holding the file (``path`` is then relative to that package, read with
    ``importlib.resources``): data shipped inside a plug-in, found without ``--data-dir``."""


def locate(data_dir: Path, file: DataFile) -> Path:
    """The path of ``file``: inside its package when ``file.package`` is set, else under ``data_dir``.
    A package that cannot be imported yields a path that does not exist (reported as missing)."""
    if file.package is None:
        return data_dir / file.path
    try:
        root = resources.files(file.package)
    except ModuleNotFoundError:
        return Path(f"<package {file.package} not importable>") / file.path
    return Path(str(root.joinpath(*file.path.split("/"))))


def cache_dir() -> Path:
    """The harness cache (converted models, indexes, downloaded data)."""
    base = os.environ.get("HARNESS_CACHE_DIR")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))
    return Path(xdg) / "moat-harness"


def resolve_data_dir(explicit: str | Path | None = None) -> Path:
    if explicit is not None:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get("HARNESS_DATA_DIR")
    if env:
        return Path(env).expanduser().resolve()
    return cache_dir() / "data"


def require(data_dir: Path, relpath: str) -> Path:
    """Return ``data_dir / relpath`` or raise one clear line naming the file and the fix."""
    path = data_dir / relpath
    if not path.exists():
        benchmark = relpath.split("/", 1)[0]
        raise DataMissingError(
            f"missing data file {path}: set --data-dir or HARNESS_DATA_DIR to a folder holding "
            f"'{relpath}', or run `harness data download {benchmark}`"
        )
    return path


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def checksum_files(paths: list[Path]) -> str:
    """One short checksum over several files (order matters), recorded in runs."""
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode())
        h.update(sha256_file(p).encode())
    return h.hexdigest()[:16]


def download(file: DataFile, data_dir: Path) -> Path:
    """Fetch ``file`` from its public home into ``data_dir``, verifying the checksum."""
    if file.url is None:
        raise DataMissingError(
            f"no public download for {file.path}; obtain it as described in the environment's docs"
        )
    target = data_dir / file.path
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
        with urllib.request.urlopen(file.url, timeout=60) as resp:  # noqa: S310 (public https URLs)
            shutil.copyfileobj(resp, tmp)
    tmp_path = Path(tmp.name)
    if file.sha256 and sha256_file(tmp_path) != file.sha256:
        tmp_path.unlink()
        raise ValueError(f"checksum mismatch for {file.url}; expected sha256 {file.sha256}")
    tmp_path.replace(target)
    return target
