"""Progress of a run, mirroring ``echo_core::engine::Progress``.

Watch a run with a callback (``handle.wait(progress=callback)``), a tqdm bar
(``progress=True`` when tqdm is installed), or asynchronously
(``async for p in handle.updates()``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable, Optional

from ._convert import Record, register
from ._native import ProgressUpdates

__all__ = ["Progress", "ProgressUpdates", "TqdmProgress"]


@register
@dataclass(frozen=True)
class Progress(Record):
    """A snapshot of a run's progress."""

    run_id: str
    status: str
    planned: int
    succeeded: int
    failed: int
    cancelled: int
    elapsed: timedelta
    rate_per_sec: float
    eta: Optional[timedelta]

    @property
    def done(self) -> int:
        """Samples in a final state."""
        return self.succeeded + self.failed + self.cancelled

    @property
    def remaining(self) -> int:
        """Samples not yet in a final state."""
        return max(self.planned - self.done, 0)

    @property
    def is_finished(self) -> bool:
        """Whether the run reached a terminal status."""
        return self.status in ("completed", "partial", "failed", "cancelled")


class TqdmProgress:
    """A tqdm progress bar fed with ``Progress`` snapshots (``tqdm.auto``: a widget in
    notebooks, text elsewhere). Needs tqdm installed."""

    def __init__(self, **tqdm_kwargs: Any) -> None:
        try:
            from tqdm.auto import tqdm
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("a progress bar needs tqdm: pip install tqdm") from e
        self._tqdm = tqdm
        self._kwargs = dict({"unit": "sample", "desc": "run"}, **tqdm_kwargs)
        self._bar: Any = None

    def __call__(self, progress: Progress) -> None:
        if self._bar is None:
            self._bar = self._tqdm(total=progress.planned, **self._kwargs)
        # update() (not assigning n) so tqdm's rate and ETA are right.
        self._bar.set_postfix(failed=progress.failed, status=progress.status, refresh=False)
        self._bar.update(progress.done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _resolve_sink(progress: Any) -> Optional[Callable[[Progress], None]]:
    """Called by ``RunHandle.wait``: ``True`` → a tqdm bar, a callable → itself."""
    if progress is True:
        return TqdmProgress()
    if progress is False or progress is None:
        return None
    if callable(progress):
        return progress  # type: ignore[no-any-return]
    raise TypeError("progress must be a callable taking a Progress, True (a tqdm bar), or None")
