"""The JSON files modeltel writes and reads (references, window snapshots): written
atomically, read with an error that names the file and the problem.

>>> write_atomically("fraud.json", reference.to_dict())
>>> data = read_json("fraud.json", "reference", ReferenceError)
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


def read_json(path: str | os.PathLike[str], what: str, error: type[Exception]) -> Any:
    """The parsed contents of ``path``; ``error`` naming ``what`` and the file when it cannot be
    read or is not JSON."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{what} {path} is not valid JSON: {exc}") from None
