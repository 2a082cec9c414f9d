"""Resumable fan-out: the one protocol shard and score (and every later fan-out) follow.

A step's work is cut into parts in a fixed global order. Worker I of K does parts I, I+K, ...
Each finished part leaves its data, then a small sidecar ``_parts/<part>.json`` holding the
part's digest (which changes whenever anything that decides the part's bytes changes): a
sidecar therefore proves its part is complete, and a rerun skips every part whose sidecar
matches and whose data files are all still there. Every worker also writes the plan,
``_parts/plan.json``: every part's name and digest and what the step needs to finish. Whoever
finds every part of the plan done finishes the step, and so can a gathering step that knows
nothing but the output folder, without the inputs, the model or the settings.

Every step that fans out has one ``finish(output, ...)`` with one contract: it writes the
step's outputs from the parts and returns what it wrote once every part of the plan is done,
and returns None while parts are still to come (a worker reports it and stops; a gathering
step, which runs after every worker, treats it as an error: ``parts.gathered``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from glasses import storage
from glasses.errors import InputError, SettingError

PARTS_DIR = "_parts"
PLAN_NAME = "plan.json"
SIDECAR_SUFFIX = ".json"

T = TypeVar("T")


def check_worker(num_workers: int, worker_index: int) -> None:
    if num_workers < 1 or not 0 <= worker_index < num_workers:
        raise SettingError(
            f"worker_index must be in [0, num_workers), got {worker_index} of {num_workers}",
            "worker_index",
            "num_workers",
        )


def gathered(result: T | None, output: str, step: str) -> T:
    """A gathering step's ``finish`` result, which after every worker must be there."""
    if result is None:
        raise InputError(f"{output}: a {step} worker's output is missing or incomplete")
    return result


def count(items: int, size: int) -> int:
    """How many parts of ``size`` hold ``items`` (the last may be short)."""
    return -(-items // size)


def mine(parts: Sequence[T], num_workers: int, worker_index: int) -> list[T]:
    """This worker's share of the parts, in global order."""
    return list(parts[worker_index::num_workers])


def uri(output: str, name: str) -> str:
    """Where a part's own files go: ``uri(output, name) + suffix``."""
    return storage.join(output, PARTS_DIR, name)


@dataclass(frozen=True)
class Plan:
    """Every part of a step's output, and what finishing it needs."""

    step: str
    parts: list[tuple[str, str]]  # (name, digest), in global order
    context: dict[str, Any] = field(default_factory=dict)

    def write(self, output: str) -> None:
        body = {"step": self.step, "parts": [list(p) for p in self.parts],
                "context": self.context}  # fmt: skip
        storage.write_text(storage.join(output, PARTS_DIR, PLAN_NAME), json.dumps(body) + "\n")

    @classmethod
    def read(cls, output: str, step: str) -> Plan:
        where = storage.join(output, PARTS_DIR, PLAN_NAME)
        try:
            body = json.loads(storage.read_text(where))
        except FileNotFoundError as err:
            raise InputError(f"{where} not found: no worker of {step} wrote here") from err
        if body.get("step") != step:
            raise InputError(f"{where} is the plan of {body.get('step')!r}, not of {step}")
        return cls(step, [(n, d) for n, d in body["parts"]], body["context"])


def finished(output: str, name: str, part_digest: str, data: Sequence[str]) -> Any:
    """The part's sidecar if an earlier run finished it with the same digest and its data
    files are all still there; else None (the part is to be done)."""
    try:
        sidecar = json.loads(storage.read_text(uri(output, name) + SIDECAR_SUFFIX))
    except FileNotFoundError:
        return None
    if sidecar.get("digest") != part_digest or not all(storage.exists(d) for d in data):
        return None
    return sidecar


def write_sidecar(output: str, name: str, sidecar: dict[str, Any]) -> None:
    """Written last: the proof that the part's data is complete."""
    storage.write_text(uri(output, name) + SIDECAR_SUFFIX, json.dumps(sidecar, indent=1) + "\n")


def collect(
    output: str, plan: Plan, data: Callable[[str], Sequence[str]]
) -> list[dict[str, Any]] | None:
    """Every part's sidecar in plan order once all are done, else None (another worker's parts
    are still to come, or a part was left by other inputs and its worker will redo it).
    ``data(name)``: the part's data files."""
    sidecars = []
    for name, part_digest in plan.parts:
        sidecar = finished(output, name, part_digest, data(name))
        if sidecar is None:
            return None
        sidecars.append(sidecar)
    return sidecars
