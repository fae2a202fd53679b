"""A streaming window of binned counts: the last N rows (or seconds) of one model's traffic.

Memory is O(features x bins) whatever the traffic: the window is a queue of at most about
``BLOCKS`` blocks of counts plus the block being filled. Each call adds a bounded sample of its
rows, weighted by rows / sampled rows (a 10,000-row batch weighs 10,000 rows), to a small
fixed-size buffer whose rows remember their block; the buffer is binned in bulk (all rows,
features and blocks at once) when it fills or metrics are read. Binning one row at a time
costs ~50 us of small numpy calls per prediction; in bulk it is a fraction of a microsecond
per row.
"""

from __future__ import annotations

import contextlib
import operator
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from modeltel import _forksafe as forksafe
from modeltel.drift.binning import exact_slots
from modeltel.drift.counting import count_rows
from modeltel.drift.layout import GRID_MIN_ROWS, QUALITY_KINDS, Block, Layout

BLOCKS = 10  # the window moves in steps of a tenth of its length
# Sampled rows a row window keeps at least (up to its row count): large batches are binned
# through a bounded sample (a 10,000-row call of a 500-feature model bins 32 rows), so a
# window of "the last 5,000 rows" could be one call's 32 sampled rows, and the PSI of 32 rows
# against a 10-bin reference is noise (0.47 on average, measured on undrifted data). Older
# blocks stay until the newer ones hold this many sampled rows, within MAX_BLOCK_BYTES.
MIN_SAMPLED_ROWS = 1000
MAX_BLOCK_BYTES = 4 << 20
# Sampled rows buffered before binning: up to 1,024 (a few calls at the default row budget),
# fewer for wide models so the buffer stays within 128K floats (1 MB) per window.
PENDING_ROWS = 1024
PENDING_CELLS = 131_072
# Full buffers waiting for the binning thread before the next one waits for it too.
MAX_QUEUED = 4


class DriftWindow:
    """Windowed counts for one model's inputs (or outputs) against its reference layout."""

    def __init__(
        self,
        profiles: list[Any],
        window_rows: int,
        window_seconds: float = 0.0,
        *,
        track_sums: bool = True,
        track_distribution: bool = True,
        errors: Callable[[np.ndarray], np.ndarray | None] | None = None,
        errors_max_rows: int = 1 << 30,
    ) -> None:
        """``errors`` maps binned numeric rows to their multivariate reconstruction errors
        (None: no multivariate score), for at most ``errors_max_rows`` of them per binning
        (evenly spaced): the projection costs rows x features x components."""
        self.layout = Layout(profiles)
        # The cumulative distribution feeds only the opt-in export (and per-bin sums only the
        # Wasserstein distance): no work for what nobody reads.
        self.track_sums = track_sums
        self.track_distribution = track_distribution
        self.window_rows = window_rows
        self.window_seconds = window_seconds
        self._blocks: deque[Block] = deque()
        self._block_rows = 0.0  # rows in the closed blocks
        self._block_sampled = 0  # sampled rows in the closed blocks
        block_bytes = 2 * 8 * len(profiles) * self.layout.slots
        self._max_blocks = max(BLOCKS + 1, min(4 * BLOCKS, MAX_BLOCK_BYTES // max(1, block_bytes)))
        self._min_sampled = min(MIN_SAMPLED_ROWS, window_rows)
        self._current = self._new_block()
        # Below the first edge or above the last: out of the reference's range.
        self._low = self.layout.edges[:, 0] if self.layout.edges.shape[1] else np.empty(0)
        self._low_list: list[float] = self._low.tolist()
        self._high_list: list[float] = self.layout.last_edge.tolist()
        # Full buffers are binned outside _lock, by one thread at a time. numpy lets go of
        # the GIL inside a binning, which then takes milliseconds of wall time (up to 380 ms
        # with four busy threads): while it ran under _lock, every other predicting thread
        # queued behind it (70% of their time in the 4-thread throughput benchmark). Now _lock
        # guards the buffer, the queue of full buffers and the blocks' row counts, briefly;
        # whoever holds _binner bins the queue (a thread that fills a buffer while another
        # bins just queues it), and readers take both, so they never see rows that have left
        # the buffer but are not binned yet.
        self._lock = threading.Lock()
        self._binner = threading.Lock()
        forksafe.register(self)
        forksafe.register(self, "_binner")
        self._queued: list[tuple[Any, ...]] = []  # (segments, numeric, categorical, weights, accounted)
        d = len(profiles)
        # Cumulative since start (counters): data quality (one extra last row for columns
        # the reference does not have) and the opt-in distribution. Binning adds to _quality;
        # what callers found in their rows goes to _quality_seen (under _lock).
        self._quality = np.zeros((d + 1, len(QUALITY_KINDS)))
        self._quality_seen = np.zeros((d + 1, len(QUALITY_KINDS)))
        self._distribution = np.zeros((d, self.layout.slots))
        self.errors = errors
        self.errors_max_rows = max(1, errors_max_rows)
        n_numeric = len(self.layout.numeric)
        self._capacity = max(64, min(PENDING_ROWS, PENDING_CELLS // max(n_numeric, 1)))
        self._new_buffer()

    def _new_buffer(self) -> None:
        # A fresh buffer rather than a reused one: the full one may still be being binned.
        n_numeric = len(self.layout.numeric)
        self._pending_numeric = np.empty((self._capacity, n_numeric))
        self._pending_accounted = np.zeros((self._capacity, n_numeric), dtype=bool)
        self._pending_weight = np.empty(self._capacity)
        self._accounted_dirty = False
        self._pending_categorical: list[list[np.ndarray]] = []
        self._pending = 0
        # (block, first row) of each block with rows in the buffer, in row order: a buffer
        # outlives the blocks it fills (a 10,000-row call closes one per call), so that many
        # large calls' samples are binned at once rather than one per binning.
        self._segments: list[tuple[Block, int]] = []

    @property
    def quality(self) -> np.ndarray:
        """Data quality counts since start, (features + 1, kinds), weighted rows (a copy)."""
        with self._settled():
            return self._quality + self._quality_seen

    @property
    def distribution(self) -> np.ndarray:
        """Rows per (feature, slot) since start (the opt-in distribution export; a copy)."""
        with self._settled():
            return self._distribution.copy()

    @contextlib.contextmanager
    def _settled(self) -> Iterator[None]:
        """Hold _lock and _binner with every buffered row binned (readers only: they wait
        for a running binning to finish)."""
        while True:
            self._lock.acquire()
            if self._binner.acquire(blocking=False):
                break
            self._lock.release()
            time.sleep(0.001)
        try:
            self._take_buffer()
            work, self._queued = self._queued, []
            for item in work:
                self._bin(*item)
            yield
        finally:
            self._binner.release()
            self._lock.release()

    def _new_block(self) -> Block:
        shape = (len(self.layout.names), self.layout.slots)
        return Block(np.zeros(shape), np.zeros(shape))

    # --- hot path ------------------------------------------------------------------------

    def bin_numeric(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(slot of every value, NaN mask) of a (rows, numeric features) float sample; the
        slot is -1 for NaN (modeltel.drift.binning says how slots are counted). Buffers of many
        rows go through the layout's lookup tables, a few rows through the edges directly."""
        layout = self.layout
        if layout.grid is not None and values.shape[0] >= GRID_MIN_ROWS:
            return layout.grid.slots(values)
        return exact_slots(values, layout.edges, layout.last_edge_index, layout.last_edge), np.isnan(values)

    def add(
        self,
        numeric: np.ndarray | None,
        categorical: list[np.ndarray],
        rows: int,
        weight: float,
        quality: np.ndarray | None = None,
        accounted: np.ndarray | None = None,
    ) -> int:
        """Add one call's sample; returns how many sampled values were out of range.

        ``numeric`` is (sampled rows, numeric features) in layout order, ``categorical`` one
        object array per categorical feature (same rows), ``quality`` (features, kinds) counts
        the caller found over the sampled rows (type mismatches, absent features), ``accounted``
        the numeric cells that are NaN because of such an issue (not missing values).
        """
        layout = self.layout
        sampled = len(numeric) if numeric is not None else (len(categorical[0]) if categorical else 0)
        out_of_range = 0
        if numeric is not None and numeric.size:
            # Counted now, for the call's span; NaN compares false on both sides.
            out_of_range = int(np.count_nonzero((numeric < self._low) | (numeric > layout.last_edge)))
        with self._lock:
            block = self._rotate()
            block.rows += rows
            block.sampled += sampled
            if quality is not None:
                self._quality_seen += quality * weight  # counted over the sample: scale to the batch
            if sampled > self._capacity:  # a sample larger than the buffer: bin it at once
                self._take_buffer()
                # Copied: another thread may bin it after this call has returned, and the
                # sample can be a view of the caller's input.
                self._queued.append(
                    (
                        ((block, 0),),
                        None if numeric is None else numeric.copy(),
                        categorical,
                        np.full(sampled, float(weight)),
                        None if accounted is None else accounted.copy(),
                    )
                )
            else:
                start = self._room_for(block, sampled)
                stop = start + sampled
                if numeric is not None:
                    self._pending_numeric[start:stop] = numeric
                    if accounted is not None:
                        # Kept all False between flushes otherwise: most calls have no such cells.
                        self._pending_accounted[start:stop] = accounted
                        self._accounted_dirty = True
                self._pending_weight[start:stop] = weight
                if categorical:
                    self._pending_categorical.append(categorical)
                self._pending = stop
            backlog = len(self._queued)
            bins = backlog > 0 and self._binner.acquire(blocking=False)
        self._bin_backlog(bins, backlog)
        return out_of_range

    def add_row(self, row: list[float]) -> int:
        """``add`` for one row of numbers, one per feature of an all-numeric layout, weight 1:
        online serving's case, in plain Python (add's numpy calls on one row cost more than
        the work). Returns how many values were out of range.

        >>> window = DriftWindow(reference.features[:2], window_rows=1000)
        >>> window.add_row([120.0, 35.0])
        0
        """
        # NaN compares false on both sides, as in add().
        out_of_range = sum(map(operator.lt, row, self._low_list)) + sum(map(operator.gt, row, self._high_list))
        with self._lock:
            block = self._rotate()
            block.rows += 1
            block.sampled += 1
            at = self._room_for(block, 1)
            self._pending_numeric[at] = row
            self._pending_weight[at] = 1.0
            self._pending = at + 1
            backlog = len(self._queued)
            bins = backlog > 0 and self._binner.acquire(blocking=False)
        self._bin_backlog(bins, backlog)
        return out_of_range

    def _bin_backlog(self, bins: bool, backlog: int) -> None:
        """After an add: bin the queued buffers when this thread took _binner, else wait when
        the queue is past its bound."""
        if bins:
            self._drain()
        elif backlog > MAX_QUEUED:
            self._wait_for_backlog()

    def _drain(self) -> None:
        """Bin queued buffers until none is left (the caller holds _binner; released here)."""
        try:
            while True:
                with self._lock:
                    work, self._queued = self._queued, []
                    if not work:
                        self._binner.release()
                        return
                for item in work:
                    self._bin(*item)
        except BaseException:
            self._binner.release()
            raise

    def _wait_for_backlog(self) -> None:
        # Memory stays bounded: a thread that would queue past MAX_QUEUED buffers waits for
        # the binning thread instead (it bins faster than traffic fills buffers, so this is
        # for a binner starved of CPU).
        while len(self._queued) > MAX_QUEUED and self._binner.locked():
            time.sleep(0.001)

    def _room_for(self, block: Block, rows: int) -> int:
        """The buffer row where ``rows`` rows of ``block`` go, queueing a buffer that cannot
        take them (caller holds _lock; rows <= capacity)."""
        if self._pending + rows > self._capacity:
            self._take_buffer()
        start = self._pending
        if not self._segments or self._segments[-1][0] is not block:
            self._segments.append((block, start))
        return start

    def _take_buffer(self) -> None:
        """Queue the buffered rows for binning and start a new buffer (caller holds _lock)."""
        n = self._pending
        if n == 0:
            return
        categorical = (
            [np.concatenate(parts) for parts in zip(*self._pending_categorical)] if self._pending_categorical else []
        )
        numeric = self._pending_numeric[:n] if self.layout.numeric else None
        accounted = self._pending_accounted[:n] if self._accounted_dirty else None
        self._queued.append((tuple(self._segments), numeric, categorical, self._pending_weight[:n], accounted))
        self._new_buffer()

    def _bin(
        self,
        segments: tuple[tuple[Block, int], ...],
        numeric: np.ndarray | None,
        categorical: list[np.ndarray],
        weights: np.ndarray,
        accounted: np.ndarray | None,
    ) -> None:
        """Add binned rows, each with its own weight, to their blocks (``segments``: each
        block and its first row, in row order) and to the cumulative counts."""
        n_segments = len(segments)
        # Segment of every row: one bincount covers all blocks, offset per segment.
        segment_of_row = (
            None
            if n_segments == 1
            else np.repeat(np.arange(n_segments), np.diff([start for _, start in segments] + [len(weights)]))
        )
        counted = count_rows(
            self.layout,
            numeric,
            categorical,
            weights,
            accounted,
            n_segments,
            segment_of_row,
            self.bin_numeric,
            self._quality,
            self.track_sums,
            self.errors,
            self.errors_max_rows,
        )
        for k, (block, _) in enumerate(segments):
            block.counts += counted.counts[k]
            if counted.sums is not None:
                block.sums += counted.sums[k]
            block.error_sum += float(counted.error_sum[k])
            block.error_rows += float(counted.error_rows[k])
        if self.track_distribution:
            self._distribution += counted.counts[0] if n_segments == 1 else counted.counts.sum(axis=0)

    def _rotate(self) -> Block:
        """The block to add to, starting a new one when the current slice is full."""
        current = self._current
        if self.window_seconds > 0:
            full = time.monotonic() - current.started >= self.window_seconds / BLOCKS
        else:
            full = current.rows >= self.window_rows / BLOCKS
        if full:
            self._blocks.append(current)
            self._block_rows += current.rows
            self._block_sampled += current.sampled
            # Row windows keep the newest closed blocks that fit (a block is at least a tenth
            # of the window), and older ones while the rest hold too few sampled rows.
            while (
                self.window_seconds <= 0
                and self._blocks
                and (
                    len(self._blocks) > self._max_blocks
                    or (
                        self._block_rows > self.window_rows
                        and self._block_sampled - self._blocks[0].sampled >= self._min_sampled
                    )
                )
            ):
                self._drop_oldest()
            self._drop_expired()
            self._current = current = self._new_block()
        return current

    def _drop_expired(self) -> None:
        """Time windows: forget blocks older than the window (also with no collector)."""
        if self.window_seconds <= 0:
            return
        horizon = time.monotonic() - self.window_seconds
        while self._blocks and self._blocks[0].started < horizon:
            self._drop_oldest()

    def _drop_oldest(self) -> None:
        dropped = self._blocks.popleft()
        self._block_rows -= dropped.rows
        self._block_sampled -= dropped.sampled

    # --- collection time -----------------------------------------------------------------

    def snapshot(self) -> Block:
        """The whole window summed (blocks past ``window_seconds`` dropped)."""
        with self._settled():
            self._drop_expired()
            parts = [*self._blocks, self._current]
            total = self._new_block()
            for part in parts:
                total.counts += part.counts
                total.sums += part.sums
                total.rows += part.rows
                total.sampled += part.sampled
                total.error_sum += part.error_sum
                total.error_rows += part.error_rows
            return total
