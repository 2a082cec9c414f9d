"""Imported first by every step process of ``pipeline.py --run-local`` (their PYTHONPATH starts
with this folder): it configures logging before KFP's executor does, so the executor's
start-up chatter (its whole input as JSON, at INFO) shows only with ``--log-level DEBUG``; a
step stopped by bad input (glasses.errors.InputError) says so in one line, not a traceback,
and leaves the line where pipeline.py finds it (``GLASSES_STEP_ERRORS``). Then it runs the
``sitecustomize`` it shadows, if there is one."""

import importlib.machinery
import importlib.util
import logging
import os
import sys

if os.environ.get("GLASSES_LOG_LEVEL", "INFO").upper() != "DEBUG":
    # KFP's executor calls logging.basicConfig(level=INFO), which does nothing once the root
    # logger has a handler; each step then sets its own level (glasses.console.setup)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

_default_hook = sys.excepthook


def _one_line(kind, error, trace):  # type: ignore[no-untyped-def]
    """Bad input is the user's to fix, and the message names what: that line is the error."""
    if not any(c.__module__ == "glasses.errors" for c in kind.__mro__):
        _default_hook(kind, error, trace)
        return
    print(f"error: {error}", file=sys.stderr)
    errors = os.environ.get("GLASSES_STEP_ERRORS")
    if errors:
        with open(errors, "a") as f:
            f.write(f"{error}\n")


sys.excepthook = _one_line

_here = os.path.dirname(os.path.abspath(__file__))
_rest = [p for p in sys.path if os.path.abspath(p or ".") != _here]
_spec = importlib.machinery.PathFinder.find_spec("sitecustomize", _rest)
if _spec is not None and _spec.loader is not None:
    _module = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_module)
