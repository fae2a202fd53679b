"""The JSON files modeltel writes and reads (references, window snapshots): written
atomically, read with an error that names the file and the problem.

>>> write_atomically("fraud.json", {"schema": "modeltel.reference"})
>>> read_json("fraud.json", "reference", ValueError)
{'schema': 'modeltel.reference'}
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_atomically(path: str | os.PathLike[str], data: Any) -> None:
    """Write ``data`` as compact JSON through a temporary file, so a reader never sees half a
    file. NaN and infinities are allowed: an infinite input value makes its bin's sum infinite."""
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(data, allow_nan=True, separators=(",", ":")))
    tmp.replace(target)


def read_json(path: str | os.PathLike[str], what: str, error: type[Exception], max_bytes: int | None = None) -> Any:
    """The parsed contents of ``path``; ``error`` naming ``what`` and the file when it cannot be
    read, is larger than ``max_bytes``, is not UTF-8, is not JSON or is nested too deeply."""
    try:
        with open(path, "rb") as file:
            # Read one byte past the limit: a pipe or special file has no size to check first.
            if max_bytes is not None and os.fstat(file.fileno()).st_size > max_bytes:
                raise error(_too_large(what, path, max_bytes))
            raw = file.read() if max_bytes is None else file.read(max_bytes + 1)
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if max_bytes is not None and len(raw) > max_bytes:
        raise error(_too_large(what, path, max_bytes))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{what} {path} is not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{what} {path} is not valid JSON: {exc}") from None
    except RecursionError:
        raise error(f"{what} {path} is not a {what}: its JSON is nested too deeply") from None
    except ValueError as exc:  # e.g. an integer literal longer than Python converts
        raise error(f"{what} {path} is not valid JSON: {exc}") from None


def _too_large(what: str, path: str | os.PathLike[str], max_bytes: int) -> str:
    limit = f"{max_bytes // 2**20} MB" if max_bytes % 2**20 == 0 else f"{max_bytes:,} bytes"
    return f"{what} {path} is larger than {limit}, the most modeltel reads for a {what}"
