"""A Docker engine and a stand-in base image for the image tests (``make test-image``).

No image registry is reachable from these machines, so the official ``python`` base cannot be
pulled. The stand-in is Debian bookworm made by ``debootstrap`` (from the mirror apt already
uses), imported with ``docker import``, plus one small layer that makes it behave like the
official image where our Dockerfile relies on it: ``python`` and ``pip`` on PATH, pip allowed
to install into the system Python, and the host's certificate authorities trusted so pip in a
build reaches the package index as the host's pip does. Python is Debian's 3.11, the minor
version the lock is resolved for. It is not the production base: the published images still
build from the official ones (``make image``).

The engine, when none is reachable, is started as root on its own socket, data and exec roots
under ``ENGINE_ROOT`` with no bridge and no iptables (the machine has neither), and containers
use the host's network. Its data root is kept, so the stand-in base is made once per machine.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ENGINE_ROOT = Path(os.environ.get("GLASSES_ENGINE_ROOT", "/var/tmp/glasses-docker"))
STANDIN_BASE = "glasses-standin/python:3.11-bookworm"
_RAW_BASE = "glasses-standin/debian-bookworm:raw"
_PACKAGES = "python3,python3-venv,python3-pip,ca-certificates"
_LAYER = """\
FROM {raw}
COPY host-ca.crt /etc/ssl/certs/ca-certificates.crt
RUN rm -f /usr/lib/python3*/EXTERNALLY-MANAGED \\
 && ln -s /usr/bin/python3 /usr/local/bin/python \\
 && ln -s /usr/bin/pip3 /usr/local/bin/pip
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt \\
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \\
    LANG=C.UTF-8
CMD ["python3"]
"""


class EngineUnavailable(Exception):
    """No engine is reachable and none can be started here; the message says why."""


def docker(*args: str, check: bool = True, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """The docker CLI against the current DOCKER_HOST, output captured as text."""
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        ["docker", *args], capture_output=True, text=True, check=check, **kwargs
    )


def _reachable() -> bool:
    if shutil.which("docker") is None:
        return False
    return docker("version", "--format", "{{.Server.Version}}", check=False).returncode == 0


@contextmanager
def engine() -> Iterator[str]:
    """DOCKER_HOST of a reachable engine: the environment's, or one started here and stopped
    on exit."""
    if _reachable():
        yield os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        return
    if shutil.which("dockerd") is None or shutil.which("docker") is None:
        raise EngineUnavailable(
            "no Docker engine reachable and dockerd is not installed "
            "(apt-get install docker.io debootstrap)"
        )
    if os.geteuid() != 0:
        raise EngineUnavailable("no Docker engine reachable, and starting dockerd needs root")
    ENGINE_ROOT.mkdir(parents=True, exist_ok=True)
    socket = ENGINE_ROOT / "docker.sock"
    host = f"unix://{socket}"
    log = (ENGINE_ROOT / "dockerd.log").open("w")
    daemon = subprocess.Popen(
        ["dockerd", "--storage-driver=overlay2", "--iptables=false", "--ip6tables=false",
         "--bridge=none", "-H", host, f"--data-root={ENGINE_ROOT / 'data'}",
         f"--exec-root={ENGINE_ROOT / 'exec'}", f"--pidfile={ENGINE_ROOT / 'docker.pid'}"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    previous = os.environ.get("DOCKER_HOST")
    os.environ["DOCKER_HOST"] = host
    try:
        deadline = time.monotonic() + 60
        while not _reachable():
            if daemon.poll() is not None or time.monotonic() > deadline:
                tail = (ENGINE_ROOT / "dockerd.log").read_text().strip().splitlines()[-1:]
                raise EngineUnavailable(f"dockerd did not start: {' '.join(tail)}")
            time.sleep(0.5)
        yield host
    finally:
        daemon.terminate()
        try:
            daemon.wait(30)
        except subprocess.TimeoutExpired:
            daemon.kill()
        log.close()
        for namespace in (ENGINE_ROOT / "exec" / "netns").glob("*"):  # dockerd leaves these
            subprocess.run(["umount", str(namespace)], capture_output=True, check=False)
        if previous is None:
            os.environ.pop("DOCKER_HOST", None)
        else:
            os.environ["DOCKER_HOST"] = previous


def debian_mirror() -> str:
    """The Debian mirror apt on this machine uses (deb822 .sources or one-line format)."""
    texts = [p.read_text() for p in Path("/etc/apt").glob("sources.list.d/*.sources")]
    for text in texts:
        for stanza in text.split("\n\n"):
            uris = re.search(r"^URIs:\s*(\S+)", stanza, flags=re.M)
            suites = re.search(r"^Suites:(.*)$", stanza, flags=re.M)
            if uris and suites and "bookworm" in suites.group(1).split():
                return uris.group(1)
    sources = Path("/etc/apt/sources.list")
    lines = sources.read_text().splitlines() if sources.exists() else []
    for line in lines:
        match = re.match(r"deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+bookworm\s", line)
        if match:
            return match.group(1)
    raise EngineUnavailable("no Debian bookworm mirror in apt's sources to debootstrap from")


def host_ca_bundle() -> Path:
    """The certificate authorities the host's pip trusts."""
    for candidate in (os.environ.get("PIP_CERT"), os.environ.get("SSL_CERT_FILE"),
                      "/etc/ssl/certs/ca-certificates.crt"):  # fmt: skip
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    import certifi  # pip's own default

    return Path(certifi.where())


def standin_base() -> str:
    """The stand-in for the official python image, made once and kept in the engine."""
    if docker("image", "inspect", STANDIN_BASE, check=False).returncode == 0:
        return STANDIN_BASE
    if shutil.which("debootstrap") is None:
        raise EngineUnavailable("debootstrap is not installed (apt-get install debootstrap)")
    with tempfile.TemporaryDirectory(dir=ENGINE_ROOT if ENGINE_ROOT.exists() else None) as tmp:
        rootfs = Path(tmp) / "rootfs"
        subprocess.run(
            ["debootstrap", "--variant=minbase", f"--include={_PACKAGES}", "bookworm",
             str(rootfs), debian_mirror()],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(["docker", "import", "-", _RAW_BASE], stdin=tar.stdout, check=True,
                       capture_output=True)  # fmt: skip
        tar.wait()
        context = Path(tmp) / "layer"
        context.mkdir()
        shutil.copy(host_ca_bundle(), context / "host-ca.crt")
        (context / "Dockerfile").write_text(_LAYER.format(raw=_RAW_BASE))
        build("-t", STANDIN_BASE, str(context))
    return STANDIN_BASE


def build(*args: str) -> subprocess.CompletedProcess[str]:
    """``docker build`` with the legacy builder (it needs no frontend image from a registry)
    on the host's network."""
    env = {**os.environ, "DOCKER_BUILDKIT": "0"}
    return docker("build", "--network", "host", *args, env=env)
