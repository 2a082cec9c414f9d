"""A real GCS-API server on loopback for tests and benchmarks (needs the dev extra).

google-cloud-storage talks to it when ``STORAGE_EMULATOR_HOST`` is set, so the code under test
makes the same HTTP calls it makes against Google; subprocesses inherit the variable.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def create_bucket(name: str) -> None:
    """A bucket on the emulator, if it is not there yet."""
    from google.api_core.exceptions import Conflict
    from google.cloud import storage as gcs

    with contextlib.suppress(Conflict):  # made by an earlier test of the session
        gcs.Client().create_bucket(name)


@contextmanager
def gcs_emulator(bucket: str) -> Iterator[str]:
    """Run gcp-storage-emulator (in memory, with ``bucket``) and point the client at it."""
    from gcp_storage_emulator.server import create_server

    server = create_server("127.0.0.1", _free_port(), in_memory=True, default_bucket=bucket)
    # In memory, the emulator still re-serialises all object metadata on every write, which
    # makes n uploads cost O(n^2); nothing reads that copy back, so skip it.
    server._storage._write_config_to_file = lambda: None
    server.start()
    previous = os.environ.get("STORAGE_EMULATOR_HOST")
    os.environ["STORAGE_EMULATOR_HOST"] = f"http://127.0.0.1:{server._api._port}"
    try:
        yield os.environ["STORAGE_EMULATOR_HOST"]
    finally:
        if previous is None:
            os.environ.pop("STORAGE_EMULATOR_HOST", None)
        else:
            os.environ["STORAGE_EMULATOR_HOST"] = previous
        server.stop()
