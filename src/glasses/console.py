"""What a person sees on the console: our log lines, progress, and nothing else by default.

TensorFlow, absl and KFP's local runner each print their own start-up chatter. It is turned
down where it starts, not filtered out of our output: TensorFlow's C++ log level is set in the
environment before TensorFlow is imported, the C++ lines TensorFlow writes while it loads
(before its log level applies) go to /dev/null for the length of the import, and the Python
loggers of the libraries are set to warnings. ``--log-level DEBUG`` leaves all of it on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterator

LOG_LEVEL_ENV = "GLASSES_LOG_LEVEL"  # carries --log-level into KFP's step processes
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup(level: str | None = None, tensorflow: bool = False) -> str:
    """Configure logging for a process (CLI, KFP step): ours at ``level``, libraries at
    warnings unless DEBUG; with ``tensorflow``, import it quietly now. Returns the level."""
    level = (level or os.environ.get(LOG_LEVEL_ENV) or "INFO").upper()
    os.environ[LOG_LEVEL_ENV] = level
    debug = level == "DEBUG"
    # TF reads this when it loads: 3 keeps only fatal C++ messages (errors still raise)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if debug else "3")
    # every library at warnings, ours at the level asked for
    logging.basicConfig(level="DEBUG" if debug else "WARNING", format=_FORMAT, force=True)
    logging.getLogger("glasses").setLevel(level)
    if tensorflow:
        import_tensorflow(quiet=not debug)
    return level


@contextlib.contextmanager
def _stderr_to_devnull() -> Iterator[None]:
    """C-level stderr (fd 2) to /dev/null: what native code writes there before any log
    setting applies. Python exceptions are unaffected (raised after fd 2 is back)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def import_tensorflow(quiet: bool = True) -> None:
    """Import TensorFlow and Keras and look for devices once, without the lines absl prints
    before TensorFlow's own log level applies ("All log messages before
    absl::InitializeLog()", oneDNN and CUDA-driver notes, "failed call to cuInit")."""
    if "tensorflow" in sys.modules or not quiet:
        import tensorflow  # noqa: F401

        return
    with _stderr_to_devnull():
        import keras  # noqa: F401
        import tensorflow as tf

        tf.config.list_physical_devices()  # CUDA is probed here, once


class Progress:
    """How far along a long step is: a bar on a terminal, a log line at most every
    ``every`` seconds elsewhere (a pod's log, a CI log), each with the rate and time left."""

    def __init__(self, what: str, total: int, unit: str = "images", every: float = 30.0) -> None:
        self.what, self.total, self.unit, self.every = what, total, unit, every
        self.done = 0
        self._start = self._last = time.monotonic()
        self._log = logging.getLogger(f"glasses.{what}")
        self._bar: object | None = None
        if sys.stderr.isatty() and self._log.isEnabledFor(logging.INFO) and total:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=what, unit=f" {unit}", leave=False)

    def update(self, count: int) -> None:
        self.done += count
        if self._bar is not None:
            self._bar.update(count)  # type: ignore[attr-defined]
            return
        now = time.monotonic()
        if now - self._last >= self.every and self.done < self.total:
            self._last = now
            self._log.info("%s: %s", self.what, self.status())

    def status(self) -> str:
        elapsed = time.monotonic() - self._start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.done) / rate if rate > 0 else float("nan")
        share = self.done / self.total if self.total else 1.0
        return (
            f"{self.done}/{self.total} {self.unit} ({share:.0%}), {rate:.1f} {self.unit}/s, "
            f"about {left:.0f}s left"
        )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()  # type: ignore[attr-defined]

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
