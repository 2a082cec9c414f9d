"""Where a compiled pipeline runs: KFP's local runner (in this Python or in Docker), or a KFP
cluster (a run now, or a schedule). Each runner fails in one line naming the cause.
"""

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import re
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.parameters import ConfigError
from components.pipelines import EXPERIMENTS, SCORING, TRAINING, Pipeline
from components.placement import CompileSettings
from glasses import artifacts, console


@dataclass(frozen=True)
class LocalRun:
    run_dir: Path
    report: Path
    model: Path
    metrics: Path
    predictions: Path | None
    audit: Path | None = None  # the label audit's folder, when audit was report or drop


@dataclass(frozen=True)
class ScoringRun:
    run_dir: Path
    predictions: Path  # the folder of predictions.csv, score_report.json, the batch report
    review: Path  # the folder of the review page and the Label Studio tasks
    summary: Path  # the run's summary (Markdown)


@dataclass(frozen=True)
class ExperimentsRun:
    run_dir: Path
    output: Path  # the experiments' folder: runs/, paper_tables.md and .json, the page
    tables: Path
    page: Path


def docker_runner(root: Path, arguments: Mapping[str, Any]) -> Any:
    """kfp.local.DockerRunner for our image: its entrypoint is `glasses`, so KFP's command runs
    through /usr/bin/env; steps run as the calling user so files in the root stay theirs."""
    from docker.client import from_env
    from docker.errors import DockerException
    from kfp import local

    for name in ("source", "model_registry", "score_source", "accepted_output", "review_output",
                 "extra_labels", "label_corrections"):  # fmt: skip
        value = str(arguments.get(name) or "")
        if value and "://" not in value and not Path(value).resolve().is_relative_to(root):
            raise ConfigError(
                f"--runner docker mounts only the pipeline root {root} into the steps: put "
                f"{name} {value} inside it, or on gs://"
            )
    try:
        from_env().ping()
    except DockerException as err:
        raise ConfigError(f"--runner docker: no Docker engine reachable ({err})") from err
    return local.DockerRunner(entrypoint=["/usr/bin/env"], user=f"{os.getuid()}:{os.getgid()}")


LOCAL_SITE = Path(__file__).resolve().parent / "local_site"


@contextlib.contextmanager
def _local_runner_quiet() -> Iterator[None]:
    """KFP's local runner, told what is known: resource and GPU settings and our image (which
    has Python, though its name does not say so) do not apply to steps run here, so its
    warnings about them are expected. Step processes find ``components/local_site`` first on
    their path, which sets their logging before KFP's executor does."""
    import builtins

    previous = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(LOCAL_SITE), previous]))
    root_logger, printer = logging.getLogger(), builtins.print
    detail = _KfpDetail()
    if os.environ.get(console.LOG_LEVEL_ENV) != "DEBUG":
        root_logger.addFilter(detail)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*have no effect in the current local")
            warnings.filterwarnings("ignore", message=r".*non-Python base image")
            yield
    finally:
        root_logger.removeFilter(detail)
        builtins.print = printer  # kfp.local can leave its indenting print in place
        if previous is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = previous


class _KfpDetail(logging.Filter):
    """KFP's local runner logs each task's start, result and outputs on the root logger, at
    INFO. The start and the result are kept; the outputs table (artifact URIs and metadata,
    several lines a task) and the "Streamed logs:" header wait for --log-level DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        return not (message.startswith("Streamed logs") or message.endswith("has no outputs")
                    or "outputs:\n" in message)  # fmt: skip


def source_digest(roots: Sequence[Path] | None = None) -> str:
    """A digest of the Python source the subprocess runner executes (the glasses and components
    packages): 12 hex digits that change with any edit."""
    import components
    import glasses

    if roots is None:
        roots = [Path(glasses.__file__).parent, Path(components.__file__).parent]
    digest = hashlib.sha256()
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            digest.update(f"{root.name}/{path.relative_to(root).as_posix()}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def subprocess_settings(settings: CompileSettings) -> CompileSettings:
    """``settings`` for steps that run as subprocesses of this Python: the image named in the
    task specs (which the subprocess runner does not use) carries the digest of the code that
    does run, so KFP's cache, keyed on the spec, is not reused across code changes. (On a
    cluster the image tag does this: a new version is a new image.)"""
    return dataclasses.replace(settings, image=f"{settings.image}-src-{source_digest()}")


def run_local(
    arguments: Mapping[str, Any],
    pipeline_root: str,
    settings: CompileSettings | None = None,
    cache: bool = False,
    runner: Any = None,
) -> LocalRun:
    """The training DAG with KFP's own local runner: every step a subprocess of this Python,
    or whatever ``runner`` is given (the DockerRunner of ``docker_runner``)."""
    run_dir = _run_dag(TRAINING, arguments, pipeline_root, settings, cache, runner)
    # the local runner names a task's folder after its compiled name (merge-audit,
    # merge-audit-2, ...); only one audit branch ran, so it left one merge-audit folder, and
    # the unlabelled split's scoring is compiled before the new faces'
    evaluate, train = run_dir / "evaluate", run_dir / "train"
    scores = _task_dir(run_dir, "merge-scores")
    predictions = scores / "predictions" / artifacts.PREDICTIONS if scores else None
    audit = _task_dir(run_dir, "merge-audit")
    return LocalRun(
        run_dir=run_dir,
        report=evaluate / "evaluation" / artifacts.EVALUATION_PAGE,
        model=train / "model",
        metrics=evaluate / "evaluation" / artifacts.METRICS,
        predictions=predictions if predictions and predictions.exists() else None,
        audit=audit / "audit" if audit else None,
    )


def run_scoring_local(
    arguments: Mapping[str, Any],
    pipeline_root: str,
    settings: CompileSettings | None = None,
    cache: bool = False,
    runner: Any = None,
) -> ScoringRun:
    """The scoring DAG with KFP's own local runner, like ``run_local``."""
    run_dir = _run_dag(SCORING, arguments, pipeline_root, settings, cache, runner)
    merged = run_dir / "merge-scores"
    return ScoringRun(run_dir, merged / "predictions", merged / "review", merged / "summary")


def run_experiments_local(
    arguments: Mapping[str, Any],
    pipeline_root: str,
    settings: CompileSettings | None = None,
    cache: bool = False,
    runner: Any = None,
) -> ExperimentsRun:
    """The experiments DAG with KFP's own local runner, like ``run_local``."""
    run_dir = _run_dag(EXPERIMENTS, arguments, pipeline_root, settings, cache, runner)
    output = Path(arguments["experiments_output"])
    return ExperimentsRun(run_dir, output, output / artifacts.PAPER_TABLES_MD,
                          output / artifacts.EXPERIMENTS_PAGE)  # fmt: skip


def _run_dag(
    pipeline: Pipeline,
    arguments: Mapping[str, Any],
    pipeline_root: str,
    settings: CompileSettings | None,
    cache: bool,
    runner: Any,
) -> Path:
    """Run ``pipeline`` locally; returns the run's folder under the pipeline root."""
    from kfp import local

    root = Path(pipeline_root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    before = set(root.iterdir())
    local.init(
        runner=runner or local.SubprocessRunner(use_venv=False),
        pipeline_root=str(root),
        enable_caching=cache,
    )
    if runner is None:
        settings = subprocess_settings(settings or CompileSettings())
    # a local run fails at once: KFP's local runner honours retry policies, sleeping through
    # each backoff (half an hour for a train that fails on bad input), and on this machine a
    # failure is not a preempted node or a flaky bucket
    settings = dataclasses.replace(settings or CompileSettings(), retries=False)
    with tempfile.TemporaryDirectory() as tmp, _local_runner_quiet():
        errors = os.path.join(tmp, "errors.txt")
        os.environ[STEP_ERRORS_ENV] = errors
        try:
            pipeline.build(settings)(**arguments)
        except RuntimeError as err:  # kfp.local: "... Inner task failed: 'resolve-model'."
            raise StepFailed(_failure(str(err), errors)) from err
        finally:
            os.environ.pop(STEP_ERRORS_ENV, None)
    new = [p for p in root.iterdir() if p not in before and p.name.startswith(pipeline.name)]
    # "glasses" is a prefix of "glasses-scoring": the run folder is the one whose name then
    # goes on with the run's time stamp
    (run_dir,) = [
        p for p in new if p.name[len(pipeline.name) + 1 : len(pipeline.name) + 2].isdigit()
    ]
    return run_dir


STEP_ERRORS_ENV = "GLASSES_STEP_ERRORS"  # where a local step leaves its bad-input line
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _failure(message: str, errors: str) -> str:
    """KFP's failure message in one line: the task that failed, and its own error if it was
    bad input (a step's traceback is above it in the run's output otherwise)."""
    plain = _ANSI.sub("", message)
    task = re.search(r"Inner task failed: '([^']+)'", plain)
    said = Path(errors).read_text().strip().splitlines() if os.path.exists(errors) else []
    where = f"task {task.group(1)} failed" if task else plain.strip().splitlines()[-1]
    return f"{where}: {said[-1]}" if said else f"{where} (its output is above)"


def _task_dir(run_dir: Path, task: str) -> Path | None:
    """The folder of ``task`` (or ``task-2``, ``task-3``... the first that exists)."""
    pattern = re.compile(rf"{re.escape(task)}(-[0-9]+)?")
    found = [p for p in run_dir.iterdir() if pattern.fullmatch(p.name)]
    return min(found, key=lambda p: int(p.name.rsplit("-", 1)[1]) if p.name != task else 1,
               default=None)  # fmt: skip


def synthetic_source(root: str, count: int, size: int) -> str:
    from glasses.synth import synth

    out = os.path.join(os.path.abspath(root), f"synth-{count}-{size}")
    if not os.path.exists(os.path.join(out, "train.csv")):
        print(f"pipeline: no --source; writing {count} synthetic faces at {size} px to {out}")
        synth(out, count=count, size=size, seed=0)
    return out


def _client(host: str) -> Any:
    import warnings

    import kfp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # "only works with KFP >= 2.0.0-beta.2"
        return kfp.Client(host=host)


# The DAG gathers fan-out results with dsl.Collected, which the open-source KFP backend runs
# only from release 2.14.0 on (kubeflow/pipelines#11725); older backends refuse such a run
# when it is created.
MIN_KFP_BACKEND = (2, 14, 0)


def backend_version(client: Any) -> str:
    """The KFP backend's release, as its healthz endpoint reports it ("unknown" if it does
    not say: the generated client drops the field, so the raw answer is read)."""
    raw = client.healthzs.healthz_service_get_healthz(_preload_content=False)
    try:
        return str(json.loads(raw.data or b"{}").get("tag_name") or "unknown")
    except (ValueError, AttributeError):
        return "unknown"


def check_backend(host: str, version: str) -> None:
    """Refuse, in one line, a backend too old to run this pipeline."""
    parts = version.lstrip("v").split(".")
    if len(parts) < 3 or not all(p.isdigit() for p in parts[:3]):
        logging.getLogger(__name__).warning(
            "KFP at %s reports backend version %r; cannot check it is at least %s",
            host, version, ".".join(map(str, MIN_KFP_BACKEND)),
        )  # fmt: skip
        return
    if tuple(int(p) for p in parts[:3]) < MIN_KFP_BACKEND:
        needed = ".".join(map(str, MIN_KFP_BACKEND))
        raise ClusterError(
            f"KFP at {host} runs backend {version}; this pipeline gathers fan-out results with "
            f"dsl.Collected, which needs KFP {needed} or later: upgrade Kubeflow Pipelines"
        )


def six_field_cron(expression: str) -> str:
    """KFP wants six cron fields (seconds first); people write five."""
    fields = expression.split()
    if len(fields) == 5:
        return "0 " + expression
    if len(fields) != 6:
        raise ConfigError(f"--schedule {expression!r}: expected 5 cron fields (or 6 with seconds)")
    return expression


class ClusterError(Exception):
    """The KFP API could not be reached, or refused the request."""


class StepFailed(Exception):
    """A step of a local run failed; the message names the task and, for bad input, why."""


@contextlib.contextmanager
def kfp_api(host: str) -> Iterator[None]:
    """Connection failures and API refusals as one line naming the host, not a traceback."""
    import kfp_server_api
    import urllib3

    try:
        yield
    except (urllib3.exceptions.HTTPError, OSError) as err:
        reason = getattr(err, "reason", None) or err
        raise ClusterError(f"cannot reach KFP at {host}: {_first_line(reason)}") from err
    except kfp_server_api.ApiException as err:
        raise ClusterError(f"KFP at {host} refused: {err.status} {err.reason}") from err


def _first_line(err: object) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"


@dataclass(frozen=True)
class Cluster:
    """A KFP cluster and how runs go there."""

    host: str
    experiment: str = TRAINING.name
    pipeline_root: str | None = None  # where artifacts go (gs://...); the cluster's default
    service_account: str = ""
    cache: bool = True


def submit(
    cluster: Cluster,
    settings: CompileSettings,
    arguments: dict[str, Any],
    pipeline: Pipeline = TRAINING,
) -> str:
    """Start a run now; returns its id. The backend's version is checked first."""
    client = _client(cluster.host)
    check_backend(cluster.host, backend_version(client))
    with _compiled(settings, pipeline) as package:
        run = client.create_run_from_pipeline_package(
            package,
            arguments=arguments,
            experiment_name=cluster.experiment,
            pipeline_root=cluster.pipeline_root,
            enable_caching=cluster.cache,
            service_account=cluster.service_account,
        )
    return str(run.run_id)


def schedule(
    cluster: Cluster,
    cron: str,
    settings: CompileSettings,
    arguments: dict[str, Any],
    pipeline: Pipeline = TRAINING,
) -> str:
    """A recurring run on ``cron`` (five fields, or six with seconds), one at a time and no
    catch-up; returns its id."""
    cron = six_field_cron(cron)
    client = _client(cluster.host)
    check_backend(cluster.host, backend_version(client))
    with _compiled(settings, pipeline) as package:
        experiment = client.create_experiment(cluster.experiment)
        job = client.create_recurring_run(
            experiment_id=experiment.experiment_id,
            job_name=pipeline.recurring_run,
            cron_expression=cron,
            max_concurrency=1,
            no_catchup=True,
            params=arguments,
            pipeline_package_path=package,
            pipeline_root=cluster.pipeline_root,
            enable_caching=cluster.cache,
            service_account=cluster.service_account,
        )
    return str(job.recurring_run_id)


@contextlib.contextmanager
def _compiled(settings: CompileSettings, pipeline: Pipeline) -> Iterator[str]:
    """The pipeline compiled into a temporary package file, what the KFP API takes."""
    with tempfile.TemporaryDirectory() as tmp:
        package = os.path.join(tmp, pipeline.default_output)
        pipeline.compile(package, settings)
        yield package
