"""Prediction ids: one per row of every observed call, generated or the caller's.

Generated ids cost nothing per row: a batch gets a number and row ``i`` of batch ``n`` is
``{process prefix}{n:x}-{i}``, so id strings are only made when someone asks for them.
Caller-supplied ids (``with prediction_ids([...])``) are used as they are.
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from modeltel import _forksafe as forksafe
from modeltel.errors import ModeltelTypeError, ModeltelValueError

# Distinguishes generated ids of different processes (replicas, workers).
PREFIX = os.urandom(4).hex()


@forksafe.in_child
def _renew_prefix() -> None:
    """A forked worker counts batches from where its parent was: without its own prefix it
    would hand out the same ids as its siblings, and a label could join the wrong prediction."""
    global PREFIX
    PREFIX = os.urandom(4).hex()


class PredictionIds:
    """The ids of one call's rows, made into strings lazily."""

    __slots__ = ("batch", "rows", "supplied")

    def __init__(self, batch: int, rows: int, supplied: tuple[str, ...] | None) -> None:
        self.batch = batch
        self.rows = rows
        self.supplied = supplied

    def first(self) -> str:
        return self.supplied[0] if self.supplied else f"{PREFIX}{self.batch:x}-0"

    def as_list(self, limit: int | None = None) -> list[str]:
        """The ids, or the first ``limit`` of them."""
        count = self.rows if limit is None else min(limit, self.rows)
        if self.supplied is not None:
            return list(self.supplied[:count])
        base = f"{PREFIX}{self.batch:x}-"
        return [f"{base}{i}" for i in range(count)]


_supplied: contextvars.ContextVar[tuple[str, ...] | None] = contextvars.ContextVar("modeltel_ids", default=None)


_last: contextvars.ContextVar[PredictionIds | None] = contextvars.ContextVar("modeltel_last_ids", default=None)


class prediction_ids:
    """Use these ids (one per row, in order) for the predictions made inside the block.

    >>> with modeltel.prediction_ids(["order-17", "order-18"]):
    ...     _ = model.predict(X[:2])
    >>> modeltel.last_prediction_ids()
    ['order-17', 'order-18']
    """

    def __init__(self, ids: Sequence[Any]) -> None:
        if isinstance(ids, (str, bytes)) or not isinstance(ids, (Sequence, np.ndarray)):
            raise ModeltelTypeError(f"modeltel.prediction_ids() takes a sequence of ids, got {ids!r}")
        converted = tuple(str(i) for i in ids)
        if not converted:
            raise ModeltelValueError("modeltel.prediction_ids() needs at least one id")
        if len(set(converted)) != len(converted):
            raise ModeltelValueError("modeltel.prediction_ids(): ids must be unique")
        self._ids = converted
        self._token: contextvars.Token[tuple[str, ...] | None] | None = None

    def __enter__(self) -> prediction_ids:
        self._token = _supplied.set(self._ids)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _supplied.reset(self._token)


def current_supplied_ids() -> tuple[str, ...] | None:
    return _supplied.get()


def set_last_ids(ids: PredictionIds) -> None:
    _last.set(ids)


def last_prediction_ids() -> list[str]:
    """Ids of the most recent prediction in the current context (empty if none).

    >>> probability = model.predict_proba(X[:1])
    >>> answer = {"id": modeltel.last_prediction_ids()[0], "p": probability[0, 1]}
    >>> len(modeltel.last_prediction_ids())
    1
    """
    ids = _last.get()
    return [] if ids is None else ids.as_list()


def parse_generated(pid: str) -> tuple[int, int] | None:
    if not pid.startswith(PREFIX):
        return None
    body = pid[len(PREFIX) :]
    batch, _, row = body.partition("-")
    try:
        return int(batch, 16), int(row)
    except ValueError:
        return None
