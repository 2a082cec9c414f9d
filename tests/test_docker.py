"""The image, as far as it can be checked without a Docker engine: the Dockerfile's targets,
user, entrypoint, pins and COPY sources; the lock; make's tags; and the README's `docker run`
commands, run here exactly as the container would run them (`glasses ...`)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser

from components.placement import DEFAULT_IMAGE
from glasses import __version__, storage, testing

REPO = Path(__file__).parent.parent
GLASSES = str(Path(sys.executable).parent / "glasses")


def stages() -> dict[str, list[dict[str, str]]]:
    """Each build stage's instructions, by stage name."""
    parser = DockerfileParser(path=str(REPO / "docker" / "Dockerfile"))
    found: dict[str, list[dict[str, str]]] = {}
    current: list[dict[str, str]] = []
    for instruction in parser.structure:
        if instruction["instruction"] == "FROM":
            name = instruction["value"].split()[-1]
            current = found.setdefault(name, [])
        current.append(instruction)
    return found


def build_args() -> dict[str, str]:
    text = (REPO / "docker" / "Dockerfile").read_text()
    return dict(re.findall(r"^ARG (\w+)=(\S+)$", text, flags=re.M))


def test_both_targets_run_glasses_as_a_non_root_user() -> None:
    found = stages()
    assert {"cpu", "gpu"} <= set(found)
    for target in ("cpu", "gpu"):
        steps = found[target]
        users = [s["value"] for s in steps if s["instruction"] == "USER"]
        assert users and users[-1] not in ("root", "0", "0:0")
        entry = [s["value"] for s in steps if s["instruction"] == "ENTRYPOINT"]
        assert entry == ['["glasses"]']
        assert any(s["instruction"] == "WORKDIR" for s in steps)
        labels = " ".join(s["value"] for s in steps if s["instruction"] == "LABEL")
        assert "org.opencontainers.image.version" in labels
        assert "org.opencontainers.image.source" in labels
        runs = [s["value"] for s in steps if s["instruction"] == "RUN"]
        assert runs == [
            f"sh /opt/glasses/install.sh {part}" for part in ("dependencies", "package")
        ]
    script = REPO / "docker" / "install.sh"
    assert '--requirement "$here/requirements.lock"' in script.read_text()
    subprocess.run(["sh", "-n", str(script)], check=True)  # parses as a shell script


def test_base_images_are_pinned_and_match_the_lock() -> None:
    args = build_args()
    for name in ("PYTHON_IMAGE", "TENSORFLOW_GPU_IMAGE"):
        tag = args[name].partition(":")[2]
        assert re.search(r"\d+\.\d+", tag) and "latest" not in tag, args[name]
    assert args["VERSION"] == __version__
    lock = (REPO / "docker" / "requirements.lock").read_text()
    tf_tag = args["TENSORFLOW_GPU_IMAGE"].split(":")[1].removesuffix("-gpu")
    assert f"tensorflow=={tf_tag}\n" in lock  # pip keeps the base's CUDA build of TensorFlow
    python = args["PYTHON_IMAGE"].split(":")[1]
    assert f"Python {'.'.join(python.split('.')[:2])}" in lock  # resolved for the same Python


def test_lock_pins_every_runtime_dependency() -> None:
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    lines = [
        line for line in (REPO / "docker" / "requirements.lock").read_text().splitlines()
        if line and not line.startswith("#")
    ]  # fmt: skip
    pins = dict(line.split("==") for line in lines)
    assert all(re.fullmatch(r"[a-z0-9._-]+==[\w.+-]+", line) for line in lines)
    for dependency in project["dependencies"]:
        name = re.split(r"[\[<>=!~ ]", dependency, maxsplit=1)[0].lower()
        assert name in pins, f"{name} is not pinned in docker/requirements.lock (make lock)"


def test_every_copy_source_exists_and_dockerignore_keeps_them() -> None:
    ignore = (REPO / ".dockerignore").read_text().splitlines()
    assert ignore[ignore.index("*")] == "*"  # everything is out unless let in
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    for steps in stages().values():
        for step in steps:
            if step["instruction"] != "COPY" or "--from=" in step["value"]:
                continue
            for source in shlex.split(step["value"])[:-1]:
                assert (REPO / source).exists(), source
                assert source.rstrip("/") in allowed, f"{source} is excluded by .dockerignore"
    assert not allowed & {"data", ".venv", "tests", "runs"}


def test_make_image_tags_are_what_pipeline_compiles_with() -> None:
    out = subprocess.run(
        ["make", "-n", "image", "push"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert f"--target gpu -t {DEFAULT_IMAGE} --load" in out
    assert f"--target cpu -t {DEFAULT_IMAGE}-cpu --push" in out


def readme_docker_lines() -> list[str]:
    """The `docker run` lines of the README's docker section, as written there."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Run a step with docker", 1)[1].split("\n## ", 1)[0]
    image = re.search(r"^IMAGE=(\S+)$", section, flags=re.M)
    assert image and image.group(1) == DEFAULT_IMAGE
    return [line for line in section.splitlines() if line.startswith("docker run")]


def readme_docker_commands() -> list[list[str]]:
    """The `docker run` lines of the README's docker section, as argument lists."""
    return [shlex.split(line) for line in readme_docker_lines()]


def as_local_command(words: list[str], data: Path) -> list[str]:
    """`docker run [docker options] "$IMAGE" STEP ARGS` -> `glasses STEP ARGS`, with the
    container's /data being ``data``."""
    args = words[words.index("$IMAGE") + 1 :]
    return [GLASSES, *(re.sub(r"^/data(?=/|$)", str(data), a) for a in args)]


@pytest.mark.slow  # trains and tunes
def test_readme_docker_commands_run(tmp_path: Path, gcs_emulator: str) -> None:
    commands = readme_docker_commands()
    steps = [words[words.index("$IMAGE") + 1] for words in commands]
    assert steps == ["synth", "ingest", "shard", "tune", "train", "evaluate", "score", "ingest"]
    gpu = commands[steps.index("train")]
    assert "--gpus" in gpu  # train is shown on GPUs
    testing.create_bucket("my-bucket")
    data = tmp_path / "data"
    for words in commands:
        command = as_local_command(words, data)
        if any(a.startswith("gs://my-bucket/") for a in command):
            storage.copy_tree(str(data / "raw"), "gs://my-bucket/raw")
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"{shlex.join(command)}\n{result.stderr[-2000:]}"
    assert (data / "predictions" / "predictions.csv").is_file()
    assert (data / "eval" / "report.html").is_file()
    assert storage.exists("gs://my-bucket/ingested/manifest.csv")


@pytest.mark.parametrize("form", [["glasses", "--version"], ["--version"]])
def test_entrypoint_takes_the_step_with_or_without_glasses(
    form: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """ENTRYPOINT ["glasses"]: `docker run IMAGE glasses ...` and `docker run IMAGE ...`
    (the image itself: tests/test_image.py)."""
    from glasses import cli

    with pytest.raises(SystemExit) as done:
        cli.main(form)
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"glasses {__version__}"
