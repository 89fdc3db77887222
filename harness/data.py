"""Where benchmark data lives, how to check it and how to fetch it.

Resolution order: explicit ``--data-dir`` > ``$HARNESS_DATA_DIR`` > the user cache dir
(``$XDG_CACHE_HOME/moat-harness/data``). The layout is ``<data_dir>/<benchmark>/<file>`` as in
``shared/benchmarks``. Data is never copied into the repository.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from importlib import resources
from itertools import islice
from pathlib import Path
from typing import Any


class DataMissingError(FileNotFoundError):
    """A data file an environment needs is absent; the message says what to run."""


class DataFormatError(ValueError):
    """A data file is there but unusable (a directory, unreadable, not UTF-8, bad JSON, empty);
    the message names the file and, where known, the line."""


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


_FIX = "check it, or run `harness data verify` / `harness data download` for its benchmark"


def read_text(path: str | Path) -> str:
    """The UTF-8 text of a data file, or a :class:`DataFormatError` naming it."""
    p = Path(path)
    if p.is_dir():
        raise DataFormatError(f"data file {p} is a directory, not a file")
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise DataFormatError(f"cannot read data file {p}: {exc.strerror}") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataFormatError(f"data file {p} is not UTF-8 text (line {line}, byte offset {exc.start}); {_FIX}") from exc


def read_json(path: str | Path) -> Any:
    """A JSON data file, parsed; errors name the file, line and column."""
    p = Path(path)
    try:
        return json.loads(read_text(p))
    except json.JSONDecodeError as exc:
        raise DataFormatError(f"data file {p} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
                              f"{_FIX}") from exc


def read_jsonl(path: str | Path, limit: int | None = None) -> list[Any]:
    """The first ``limit`` non-blank lines of a JSON-lines data file, each parsed; errors name file and line."""
    p = Path(path)
    lines = ((i, ln) for i, ln in enumerate(read_text(p).split("\n"), 1) if ln.strip())
    out = []
    for i, line in islice(lines, limit):
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise DataFormatError(f"data file {p}: line {i} is not valid JSON ({exc.msg}); {_FIX}") from exc
    return out


def load_tasks(env: Any, split: str, limit: int | None) -> list[Any]:
    """``env.load(split, limit)`` with every data problem turned into one :class:`DataFormatError` line.

    Built-in environments read through :func:`read_text` / :func:`read_json` / :func:`read_jsonl`, whose
    messages name the file; a plug-in's own reading error is wrapped with its environment and split.
    A split that yields no task is refused too (it would otherwise end as a ``nan`` metric)."""
    try:
        tasks = env.load(split, limit)
    except (DataMissingError, DataFormatError):
        raise
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"{env.name} split {split}: a data file under {env.data_dir} is not UTF-8 text "
                              f"({exc.reason}); `harness data verify {env.name}` checks the files") from exc
    except json.JSONDecodeError as exc:
        raise DataFormatError(f"{env.name} split {split}: a data file under {env.data_dir} is not valid JSON "
                              f"({exc.msg} at line {exc.lineno}); `harness data verify {env.name}` checks the files") from exc
    except OSError as exc:
        where = exc.filename or env.data_dir
        raise DataFormatError(f"{env.name} split {split}: cannot read {where}: {exc.strerror or exc}") from exc
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        detail = f"a record lacks the field {exc}" if isinstance(exc, KeyError) else f"{type(exc).__name__}: {exc}"
        raise DataFormatError(f"{env.name} split {split}: unexpected data layout under {env.data_dir} ({detail}); "
                              f"`harness data verify {env.name}` checks the files") from exc
    if not tasks:
        hint = "limit 0" if limit == 0 else f"is its data file under {env.data_dir} empty?"
        raise DataFormatError(f"{env.name} split {split} has no tasks ({hint})")
    return tasks
