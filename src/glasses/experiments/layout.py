"""Where ``glasses experiments`` keeps what it makes under its output, in one place: every
stage finds what an earlier run finished by these names.

    EXP/ingested/                           ingest's manifest
    EXP/shards/<R>px/                       shard's files at R px
    EXP/runs/<protocol>/<key>/seed-<n>/     tune/, model/, evaluation/, result.json
    EXP/paper_tables.md, .json, experiments.html
"""

from __future__ import annotations

from glasses import storage
from glasses.artifacts import MANIFEST
from glasses.experiments.studies import Configuration


def ingested(output: str) -> str:
    return storage.join(output, "ingested")


def manifest(output: str) -> str:
    return storage.join(ingested(output), MANIFEST)


def shards_at(output: str, resolution: int) -> str:
    return storage.join(output, "shards", f"{resolution}px")


def run_folder(output: str, protocol: str, configuration: Configuration, seed: int) -> str:
    return storage.join(output, "runs", protocol, configuration.key, f"seed-{seed}")
