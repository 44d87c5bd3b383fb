"""One progress bar for long runs (training, the benchmark): tqdm when it is installed (the
plot extra) and wanted, else a silent stand-in with the same methods, so callers need no
``if bar is not None``."""

from __future__ import annotations

import sys
from typing import Any


class Silent:
    """A progress bar that shows nothing."""

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, **values: Any) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> Silent:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def progress_bar(total: int, desc: str, unit: str, show: bool | None = None,
                 delay: float = 0.0) -> Any:
    """A tqdm bar over ``total`` steps that disappears when done, or :class:`Silent`: when
    ``show`` is False, when ``show`` is None and stderr is not a terminal, when there is
    nothing to count, or when tqdm is not installed. ``delay``: seconds before it appears,
    so short runs show none."""
    if show is False or total == 0 or (show is None and not sys.stderr.isatty()):
        return Silent()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return Silent()
    return tqdm(total=total, desc=desc, unit=unit, delay=delay, leave=False)
