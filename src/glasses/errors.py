"""The exceptions for input a user can fix, and the few checks every step's settings share.

A step checks its settings in its own parameters' names (``folds``), so one check serves
``glasses audit --folds`` and the pipeline's ``audit_folds``: each front end renames them in
its own words (``SettingError.say``) before it prints the one line a user reads.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass


class InputError(Exception):
    """Bad input or arguments: the CLI prints the message (which names the file, row and
    reason) as one line and exits non-zero, instead of a traceback."""


class SettingError(InputError):
    """A setting out of range. ``settings`` are the parameters the message names, as the step
    function calls them."""

    def __init__(self, message: str, *settings: str) -> None:
        super().__init__(message)
        self.message = message
        self.settings = settings

    def say(self, name: Callable[[str], str]) -> str:
        """The message with each setting renamed: ``err.say(lambda s: "--" + s)``."""
        text = self.message
        for setting in sorted(self.settings, key=len, reverse=True):
            # a word of its own: not part of a longer name, a file name or a path
            text = re.sub(rf"(?<![\w./-]){re.escape(setting)}(?![\w/-]|\.\w)", name(setting), text)
        return text


@dataclass(frozen=True)
class OneOf:
    """The values a text setting allows. ``Annotated[str, OneOf(...)]`` in a step's signature
    is both what the step checks and what the command line offers as its choices."""

    values: tuple[str, ...]

    def check(self, setting: str, value: str) -> None:
        if value not in self.values:
            shown = ", ".join(self.values)
            raise SettingError(f"{setting} must be one of {shown}, got {value!r}", setting)


def at_least(setting: str, value: float, low: float) -> None:
    """``value >= low``, or one sentence naming the setting."""
    if not value >= low:
        raise SettingError(f"{setting} must be at least {low:g}, got {value!r}", setting)


def within(setting: str, value: float, low: float, high: float, *, open_high: bool = False) -> None:
    """``value`` in [low, high], or [low, high) with ``open_high``."""
    if not (low <= value < high if open_high else low <= value <= high):
        interval = f"[{low:g}, {high:g}{')' if open_high else ']'}"
        raise SettingError(f"{setting} must be in {interval}, got {value!r}", setting)
