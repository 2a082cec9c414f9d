"""The one place where glasses reads and writes files: local paths and ``gs://`` URIs.

Every step takes its locations as strings and passes them here, so the same command works on a
laptop folder and on a bucket. Only this module imports google-cloud-storage.

Writes are all-or-nothing at the final name: locally we write a hidden temporary file beside the
target and ``os.replace`` it; on GCS an object only becomes visible when its upload finishes (an
interrupted upload leaves nothing), so the data is spooled to a local temporary file and uploaded
once the writer closes without error.

Which call retries how, on GCS (google-cloud-storage's own machinery, ``DEFAULT_RETRY``:
429, 5xx, resets and timeouts, exponential backoff with jitter for up to 120 s):

- reads (``download_as_bytes``, ``exists``, listings page by page): ``DEFAULT_RETRY``; a download
  cut short is detected (its length, and its checksum where the server sends one) and retried;
- writes (``upload_from_*``, small ones in one request, large ones as resumable uploads that
  go on from the last byte the server has): ``DEFAULT_RETRY``, the client's default since 3.0.
  A write that landed but whose answer was lost is written again with the same bytes: every
  object glasses writes is whole and the same on a retry (a part, a report, a ledger run), so
  no write here needs ``if_generation_match`` to stay correct;
- server-side copies and deletes: ``DEFAULT_RETRY`` asked for explicitly (the client retries a
  copy only with a generation precondition; copying the same source again gives the same
  object, and deleting what a lost answer already deleted is "not found", which is fine).

What the retries cannot carry (a 403, a missing bucket, a network down past the deadline) ends
in one error naming the URI. A retry's jittered sleep draws from Python's shared ``random``
stream, in the calling thread and in the client's own background threads (its bucket-metadata
cache), at moments no one controls: nothing seeded may draw from that stream
(``glasses.model.network`` seeds its layers itself).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from google.cloud import storage as gcs

GCS_SCHEME = "gs://"


class StorageError(Exception):
    """A storage call failed for a reason other than a missing file; the message names the URI."""


@dataclass(frozen=True)
class FileInfo:
    """One file found by :func:`list_files`."""

    uri: str
    size: int
    # which version of the file this is: the GCS object's generation, a local file's
    # modification time in ns; a file rewritten in place gets another
    version: str = ""


def is_gcs(uri: str) -> bool:
    return uri.startswith(GCS_SCHEME)


def join(base: str, *parts: str) -> str:
    """Join path parts the way the base's scheme wants (``/`` on GCS, ``os.path`` locally)."""
    if is_gcs(base):
        pieces = [base.rstrip("/")] + [p.strip("/") for p in parts if p]
        return "/".join(pieces)
    return os.path.join(base, *parts)


def basename(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1] if is_gcs(uri) else os.path.basename(uri)


def split_gcs(uri: str) -> tuple[str, str]:
    """``gs://bucket/a/b`` -> (``bucket``, ``a/b``)."""
    rest = uri[len(GCS_SCHEME) :]
    bucket, _, name = rest.partition("/")
    if not bucket:
        raise ValueError(f"{uri}: a gs:// URI needs a bucket name")
    return bucket, name


_client_cache: dict[tuple[int, str], gcs.Client] = {}


def _client() -> gcs.Client:
    """One client per process (clients hold sockets that must not be shared across a fork)
    and per endpoint (tests point ``STORAGE_EMULATOR_HOST`` at a faulty proxy and back)."""
    key = (os.getpid(), os.environ.get("STORAGE_EMULATOR_HOST", ""))
    client = _client_cache.get(key)
    if client is None:
        from google.cloud import storage as gcs_module

        client = gcs_module.Client()
        _client_cache.clear()
        _client_cache[key] = client
    return client


def _blob(uri: str) -> Any:
    bucket, name = split_gcs(uri)
    if not name:
        raise ValueError(f"{uri}: names a bucket, not an object")
    return _client().bucket(bucket).blob(name)


def _retry() -> Any:
    from google.cloud.storage.retry import DEFAULT_RETRY

    return DEFAULT_RETRY


def _reason(err: Any) -> str:
    """The server's own words: an upload's error carries the whole answer, JSON and all."""
    found = re.search(r'"message":\s*"((?:[^"\\]|\\.)*)"', err.message or "")
    return found.group(1) if found else str(err.message)


@contextlib.contextmanager
def _gcs_errors(uri: str) -> Iterator[None]:
    """Turn the client's exceptions into ones that name the URI and need no GCS knowledge."""
    import requests  # type: ignore[import-untyped]
    from google.api_core import exceptions as gexc
    from google.cloud.storage import exceptions as media

    try:
        yield
    except gexc.NotFound as err:
        raise FileNotFoundError(f"{uri}: not found") from err
    except gexc.Forbidden as err:
        raise PermissionError(f"{uri}: access denied ({_reason(err)})") from err
    except gexc.RetryError as err:
        raise StorageError(f"{uri}: still failing after retries: {err.cause}") from err
    except gexc.GoogleAPICallError as err:
        raise StorageError(f"{uri}: {_reason(err)}") from err
    except (requests.RequestException, media.InvalidResponse, media.DataCorruption) as err:
        raise StorageError(f"{uri}: {type(err).__name__}: {err}") from err


def exists(uri: str) -> bool:
    if is_gcs(uri):
        with _gcs_errors(uri):
            return bool(_blob(uri).exists())
    return os.path.exists(uri)


def read_bytes(uri: str) -> bytes:
    if is_gcs(uri):
        with _gcs_errors(uri):
            return bytes(_blob(uri).download_as_bytes())
    with open(uri, "rb") as f:
        return f.read()


def read_text(uri: str) -> str:
    return read_bytes(uri).decode("utf-8")


KILL_AT_WRITE = "GLASSES_KILL_AT_WRITE"  # fault injection: see _before_commit
_writes = 0


def _before_commit() -> None:
    """Where a write is about to become visible: with ``$GLASSES_KILL_AT_WRITE=N`` the
    process kills itself (SIGKILL, as a preempted node does) at its Nth write, its bytes
    spooled but not yet in place. The kill points of the fault tests and benchmark
    (tests/test_faults.py, benchmarks/faults.py): deterministic, unlike a kill from outside."""
    global _writes
    _writes += 1
    if os.environ.get(KILL_AT_WRITE) == str(_writes):
        os.kill(os.getpid(), signal.SIGKILL)


@contextlib.contextmanager
def open_write(uri: str) -> Iterator[IO[bytes]]:
    """A binary file whose contents appear at ``uri`` only if the ``with`` block succeeds."""
    if is_gcs(uri):
        with tempfile.TemporaryFile() as spool:
            yield spool
            spool.flush()
            spool.seek(0)
            _before_commit()
            with _gcs_errors(uri):
                _blob(uri).upload_from_file(spool, rewind=True)
        return
    parent = os.path.dirname(os.path.abspath(uri))
    os.makedirs(parent, exist_ok=True)
    tmp = os.path.join(parent, f".{os.path.basename(uri)}.tmp-{uuid.uuid4().hex}")
    try:
        with open(tmp, "wb") as f:
            yield f
        _before_commit()
        os.replace(tmp, uri)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)


def write_bytes(uri: str, data: bytes) -> None:
    if is_gcs(uri):
        _before_commit()
        with _gcs_errors(uri):
            _blob(uri).upload_from_string(data)
        return
    with open_write(uri) as f:
        f.write(data)


def write_text(uri: str, text: str) -> None:
    write_bytes(uri, text.encode("utf-8"))


def list_files(prefix: str, unreadable: list[tuple[str, str]] | None = None) -> list[FileInfo]:
    """Every file below the folder ``prefix``, recursively, with sizes, sorted by URI.

    One listing call per 1000 objects on GCS, one ``scandir`` per folder locally: callers that
    need to know what exists and how big it is ask once here instead of stat-ing file by file.
    Locally, symbolic links are followed but each folder is listed once (a link loop ends
    there), and what cannot be read (a loop, a broken link, a folder without permission) is
    passed over and, with ``unreadable``, appended to it as (path, reason).
    Raises FileNotFoundError when nothing is there at all.
    """
    if is_gcs(prefix):
        bucket, name = split_gcs(prefix)
        folder = name.rstrip("/") + "/" if name else ""
        try:
            with _gcs_errors(prefix):
                blobs = _client().list_blobs(bucket, prefix=folder)
                found = [
                    FileInfo(
                        f"{GCS_SCHEME}{bucket}/{b.name}", int(b.size or 0), str(b.generation or "")
                    )
                    for b in blobs
                    if not b.name.endswith("/")
                ]
        except FileNotFoundError:  # a listing is only ever "not found" for want of its bucket
            raise FileNotFoundError(f"{prefix}: there is no bucket {bucket}") from None
        if not found:
            raise FileNotFoundError(f"{prefix}: no files found")
        return sorted(found, key=lambda f: f.uri)
    if not os.path.isdir(prefix):
        raise FileNotFoundError(f"{prefix}: no such folder")
    problems: list[tuple[str, str]] = [] if unreadable is None else unreadable
    found = list(_scan_local(prefix, {}, problems))
    return sorted(found, key=lambda f: f.uri)


def _scan_local(
    folder: str, listed: dict[tuple[int, int], str], problems: list[tuple[str, str]]
) -> Iterator[FileInfo]:
    try:
        info = os.stat(folder)
        key = (info.st_dev, info.st_ino)
        if key in listed:
            problems.append((folder, f"symbolic link to a folder already listed ({listed[key]})"))
            return
        listed[key] = folder
        with os.scandir(folder) as entries:
            children = list(entries)
    except OSError as err:
        problems.append((folder, f"folder cannot be listed: {err.strerror or err}"))
        return
    for entry in children:
        try:
            if entry.is_dir():
                yield from _scan_local(entry.path, listed, problems)
            elif entry.is_file():
                info = entry.stat()
                yield FileInfo(entry.path, info.st_size, str(info.st_mtime_ns))
            elif entry.is_symlink():
                problems.append((entry.path, "broken symbolic link"))
        except OSError as err:
            problems.append((entry.path, err.strerror or str(err)))


def delete(uri: str) -> None:
    """Remove one file; a missing file is not an error."""
    with contextlib.suppress(FileNotFoundError):
        if is_gcs(uri):
            with _gcs_errors(uri):
                _blob(uri).delete(retry=_retry())
        else:
            os.remove(uri)


def copy(src: str, dst: str) -> None:
    """Copy one file between any two locations (server-side within GCS)."""
    if is_gcs(src) and is_gcs(dst):
        src_bucket, src_name = split_gcs(src)
        dst_bucket, dst_name = split_gcs(dst)
        client = _client()
        _before_commit()
        with _gcs_errors(src):
            client.bucket(src_bucket).copy_blob(
                client.bucket(src_bucket).blob(src_name),
                client.bucket(dst_bucket),
                dst_name,
                retry=_retry(),
            )
        return
    if not is_gcs(src) and not is_gcs(dst):
        with open(src, "rb") as fin, open_write(dst) as fout:
            shutil.copyfileobj(fin, fout)
        return
    write_bytes(dst, read_bytes(src))


def relative(uri: str, base: str) -> str:
    """``uri``'s path below ``base``, with ``/`` separators."""
    prefix = base.rstrip("/") + "/"
    if not uri.startswith(prefix):
        raise ValueError(f"{uri} is not below {base}")
    return uri[len(prefix) :].replace(os.sep, "/")


def copy_tree(src: str, dst: str) -> int:
    """Copy every file below ``src`` to the same relative place below ``dst`` (any two
    locations); returns how many, 0 when ``src`` holds nothing."""
    try:
        files = list_files(src)
    except FileNotFoundError:
        return 0
    for info in files:
        copy(info.uri, join(dst, *relative(info.uri, src).split("/")))
    return len(files)


@contextlib.contextmanager
def working_copy(remote: str, prefix: str) -> Iterator[str]:
    """A local scratch folder holding what ``remote`` holds (nothing on a first run), removed
    on exit: for libraries that write only local files (Keras checkpoints, Keras Tuner state)
    and whose progress the caller mirrors back with ``copy_tree(work, remote)``."""
    work = tempfile.mkdtemp(prefix=prefix)
    try:
        copy_tree(remote, work)
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def cached_copy(uri: str, key: str) -> str:
    """A local path of ``uri``: itself when local; else a copy in the local cache
    ($GLASSES_CACHE_DIR or the temp folder), fetched once per ``key`` (which should change
    whenever the remote file may have)."""
    if not is_gcs(uri):
        return uri
    folder = os.environ.get("GLASSES_CACHE_DIR") or os.path.join(
        tempfile.gettempdir(), "glasses-cache"
    )
    os.makedirs(folder, exist_ok=True)
    local = os.path.join(folder, f"{key[:16]}-{basename(uri)}")
    if not os.path.exists(local):
        copy(uri, local)
    return local


def delete_tree(uri: str) -> None:
    """Remove every file below ``uri``; nothing there is fine."""
    if not is_gcs(uri):
        shutil.rmtree(uri, ignore_errors=True)
        return
    try:
        files = list_files(uri)
    except FileNotFoundError:
        return
    for info in files:
        delete(info.uri)
