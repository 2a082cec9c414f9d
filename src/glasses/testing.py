"""A real GCS-API server on loopback for tests and benchmarks (needs the dev extra), and a
proxy in front of it that fails as networks and object stores do (:class:`FaultyStore`).

google-cloud-storage talks to them when ``STORAGE_EMULATOR_HOST`` is set, so the code under test
makes the same HTTP calls it makes against Google; subprocesses inherit the variable.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import socket
import struct
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from glasses import storage


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


@dataclass
class FaultLog:
    """What a :class:`FaultyStore` answered: every request's method, path and fault (or "")."""

    requests: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def faults(self) -> list[tuple[str, str, str]]:
        return [r for r in self.requests if r[2]]

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for _, _, kind in self.faults:
            found[kind] = found.get(kind, 0) + 1
        return found


FAULT_KINDS = ("429", "503", "reset", "short", "stall")


class FaultyStore:
    """A loopback HTTP proxy in front of a GCS-API server that misbehaves as networks and
    object stores do, on a seeded schedule: for a ``rate`` share of requests it answers 429 or
    503 without passing the request on, or passes it on and then resets the connection halfway
    through the answer ("reset"), or sends the answer's headers and half its body and closes
    ("short": a download cut short), or waits before answering ("stall"). Requests naming an
    object that contains one of ``forbidden`` are always answered 403, a fault no retry may
    hide.

    Faults that pass the request on first are the nasty ones: the write happened, the client
    never heard. Point a client at it with ``STORAGE_EMULATOR_HOST`` (:func:`faulty_gcs`).
    """

    def __init__(
        self,
        upstream: str,
        rate: float,
        seed: int = 0,
        kinds: tuple[str, ...] = FAULT_KINDS,
        forbidden: tuple[str, ...] = (),
        stall_s: float = 0.3,
    ) -> None:
        unknown = set(kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {FAULT_KINDS}")
        parsed = urllib.parse.urlsplit(upstream)
        self.upstream = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self.rate, self.kinds, self.forbidden, self.stall_s = rate, kinds, forbidden, stall_s
        self.log = FaultLog()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FaultyStore:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _pick(self, method: str, path: str, body: bytes) -> str:
        # a multipart upload names its object in the body, not the path
        named = path + body[:4096].decode("latin-1")
        with self._lock:
            if any(f in named for f in self.forbidden):
                kind = "403"
            elif self._rng.random() < self.rate:
                kind = self._rng.choice(self.kinds)
            else:
                kind = ""
            self.log.requests.append((method, path, kind))
            return kind

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        store = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks: list[bytes] = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        chunk = self.rfile.read(size)
                        self.rfile.readline()
                        if size == 0:
                            return b"".join(chunks)
                        chunks.append(chunk)
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()

            def _handle(self) -> None:
                self.close_connection = True
                body = self._body()
                kind = store._pick(self.command, self.path, body)
                if kind in ("429", "503", "403"):
                    message = json.dumps({"error": {"code": int(kind), "message": "injected"}})
                    data = message.encode()
                    self._answer(int(kind), [("Content-Type", "application/json")], data)
                    self.wfile.write(data)
                    return
                if kind == "stall":
                    time.sleep(store.stall_s)
                status, headers, answer = self._forward(body)
                self._answer(status, headers, answer)
                if kind in ("reset", "short") and answer:
                    self.wfile.write(answer[: len(answer) // 2])
                    self.wfile.flush()
                    if kind == "reset":  # RST instead of FIN
                        self.connection.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )
                    return
                self.wfile.write(answer)

            def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
                conn = http.client.HTTPConnection(*store.upstream, timeout=60)
                skip = {"host", "connection", "transfer-encoding", "content-length"}
                headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
                headers["Content-Length"] = str(len(body))
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    response = conn.getresponse()
                    answer = response.read()
                    kept = [
                        (k, v)
                        for k, v in response.getheaders()
                        if k.lower() not in skip and k.lower() != "content-encoding"
                    ]
                    return response.status, kept, answer
                finally:
                    conn.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle

        return Handler


@contextmanager
def faulty_gcs(rate: float, seed: int = 0, **options: Any) -> Iterator[FaultyStore]:
    """A :class:`FaultyStore` in front of the emulator ``STORAGE_EMULATOR_HOST`` points at,
    and the variable pointed at the proxy for the ``with`` block (subprocesses inherit it)."""
    upstream = os.environ["STORAGE_EMULATOR_HOST"]
    store = FaultyStore(upstream, rate, seed, **options).start()
    os.environ["STORAGE_EMULATOR_HOST"] = store.host
    try:
        yield store
    finally:
        os.environ["STORAGE_EMULATOR_HOST"] = upstream
        store.stop()


# what differs between two runs of the same step whatever the network does: clocks, the
# digests of model.keras's bytes (Keras writes the time it saved into the file), and whether
# train resumed (what it trained is the same)
CHANGING = ("seconds", "time", "date", "published_at", "digest", "version", "model", "resumed")


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if not any(c in k for c in CHANGING)}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def output_digests(root: str, model_version: str | None = None) -> dict[str, str]:
    """Every file below ``root``: its bytes' digest, with the root's name taken out; JSON
    without what changes between runs (CHANGING); a model by its weights. TensorBoard's logs,
    the SavedModel export (its files hold ids drawn at export) and the registry's versions
    (named by the clock) are left out; score's predictions show what the model serves, so
    the model's version (its bytes' digest) is taken out of them."""
    import hashlib

    import keras

    found: dict[str, str] = {}
    for info in storage.list_files(root):
        name = storage.relative(info.uri, root)
        # a model folder's logs and export, whether root is one or holds one; the plan's
        # digests name the folders and model.keras's bytes
        if name.startswith(("logs/", "export/", "model/logs/", "model/export/", "registry/")) or (
            name.endswith("_parts/plan.json")
        ):
            continue
        data = storage.read_bytes(info.uri)
        if name.endswith(".keras"):
            local = storage.cached_copy(info.uri, hashlib.sha256(data).hexdigest())
            weights = keras.models.load_model(local, compile=False).get_weights()
            data = b"".join(w.tobytes() for w in weights)
        elif name.endswith((".json", ".csv", ".html", ".md")):
            text = data.decode().replace(root, "ROOT")
            if model_version:
                text = text.replace(model_version, "MODEL")
            if name.endswith(".json"):
                text = json.dumps(_stable(json.loads(text)), sort_keys=True)
            data = text.encode()
        found[name] = hashlib.sha256(data).hexdigest()
    return found


def differences(
    expected: dict[str, str], got: dict[str, str], litter: str | None = None
) -> list[str]:
    """The files (output_digests) ``got`` lacks, holds with other bytes, or holds beyond
    ``expected``, save those whose names contain ``litter`` (a killed write's spool file)."""
    extra = [n for n in got if n not in expected and not (litter and litter in n)]
    return sorted([n for n in expected if got.get(n) != expected[n]] + extra)


def step_command(step: str, inputs: dict[str, str], out: str) -> list[str]:
    """The ``glasses`` arguments that run ``step`` on the tiniest settings that still do its
    work (parts of 20 faces, 1-epoch folds), from ``inputs``: manifest, raw, shards, model,
    hparams (a JSON file)."""
    if step == "shard":
        return ["shard", "--manifest", inputs["manifest"], "--output", out, "--resolution",
                "32", "--shard-size", "20", "--workers", "1"]  # fmt: skip
    if step == "score":
        return ["score", "--model", inputs["model"], "--source", inputs["raw"], "--output", out,
                "--part-size", "20", "--workers", "1"]  # fmt: skip
    if step == "audit":
        return ["audit", "--data", inputs["shards"], "--output", out, "--folds", "3",
                "--rounds", "1", "--epochs", "1", "--hparams", inputs["hparams"]]  # fmt: skip
    return ["train", "--data", inputs["shards"], "--output", out, "--epochs", "3",
            "--patience", "3", "--hparams", inputs["hparams"]]  # fmt: skip


def tiny_hparams() -> Any:
    """A network small enough that training it is seconds, not minutes."""
    from glasses.model.hparams import HParams

    return HParams(conv_blocks=2, filters=8, dense_units=16)


def run_every_step(root: str, raw: str) -> None:
    """Each step that reads or writes gs://, on the tiniest settings that still do the work."""
    from glasses.audit.audit import audit
    from glasses.audit.folds import Settings
    from glasses.data.ingest import ingest
    from glasses.data.shard import shard
    from glasses.evaluation.evaluate import evaluate
    from glasses.model.registry import publish
    from glasses.model.train import train
    from glasses.model.tune import tune
    from glasses.scoring.score import score

    def at(*parts: str) -> str:
        return storage.join(root, *parts)

    hp = tiny_hparams()
    ingest(raw, at("ingested"))
    shard(at("ingested", "manifest.csv"), at("shards"), resolution=32, shard_size=40, workers=2)
    tune(at("shards"), at("tune"), max_trials=1, epochs=1, hparams=hp)
    train(at("shards"), at("model"), hparams=hp, epochs=2, patience=2)
    evaluate(at("shards"), at("model"), at("evaluation"))
    score(at("model"), raw, at("scores"), workers=2, part_size=40)
    audit(at("shards"), at("audit"), Settings(folds=2, rounds=1, epochs=1, hparams=hp))
    publish(at("model"), at("registry"))
