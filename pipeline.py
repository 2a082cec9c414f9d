#!/usr/bin/env python
"""The glasses KFP pipeline: build the DAG, compile it, run it locally, submit or schedule it.

    python pipeline.py --compile [--output glasses_pipeline.yaml] [--image IMAGE]
    python pipeline.py --run-local [--source DIR] [--pipeline-root DIR] [--epochs 5 ...]
    python pipeline.py --submit --host URL [--experiment NAME] --source gs://... [...]
    python pipeline.py --schedule "0 3 * * 1" --host URL --source gs://... [...]

Every pipeline parameter is also a flag (``--val-fraction 0.2``) and a key of ``--config
FILE.yaml``; flags win over the file, the file over the defaults.
"""

import argparse
import contextlib
import functools
import inspect
import json
import logging
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kfp import compiler, dsl, kubernetes

import components as c
from glasses import artifacts, console, defaults
from glasses.health import Thresholds
from glasses.metrics import UNCERTAIN_HIGH, UNCERTAIN_LOW

PIPELINE_NAME = "glasses"
# the Kubernetes service account the steps run as (manifests/base/service-account.yaml)
SERVICE_ACCOUNT = "glasses-pipeline-runner"
DEFAULT_OUTPUT = "glasses_pipeline.yaml"


@dataclass(frozen=True)
class GpuSettings:
    """Where train and tune run: a GKE GPU node pool. GKE labels its GPU nodes with
    ``cloud.google.com/gke-accelerator: <type>`` and taints them ``nvidia.com/gpu=present:
    NoSchedule``, so a pod must both select the label and tolerate the taint."""

    count: int = 1
    accelerator: str = "nvidia-l4"  # GKE accelerator name (node label value)
    resource: str = "nvidia.com/gpu"  # what the container requests
    node_label: str = "cloud.google.com/gke-accelerator"
    taint_key: str = "nvidia.com/gpu"


@dataclass(frozen=True)
class Resources:
    cpu: str
    memory: str


# requests per step: sized for 5000 faces; the GPU steps also get GpuSettings
RESOURCES: dict[str, Resources] = {
    "fingerprint-source": Resources("250m", "512Mi"),
    "fan-out": Resources("100m", "256Mi"),
    "ingest": Resources("500m", "1Gi"),
    "shard": Resources("2", "4Gi"),
    "merge-shards": Resources("1", "2Gi"),
    "tune": Resources("4", "16Gi"),
    "train": Resources("4", "16Gi"),
    "evaluate": Resources("2", "8Gi"),
    "publish": Resources("500m", "1Gi"),
    "score": Resources("2", "4Gi"),
    "merge-scores": Resources("1", "4Gi"),
}
GPU_STEPS = ("tune", "train")


@dataclass(frozen=True)
class CompileSettings:
    image: str = c.DEFAULT_IMAGE
    gpu: GpuSettings | None = field(default_factory=GpuSettings)  # None: train on CPU nodes


def _configure(task: Any, settings: CompileSettings, caching: bool = True) -> Any:
    """Image, resource requests, GPU placement and caching for one task."""
    name = task.component_spec.name.replace("_", "-")
    task.set_container_image(settings.image)
    res = RESOURCES[name]
    task.set_cpu_request(res.cpu).set_memory_request(res.memory)
    if name in GPU_STEPS and settings.gpu is not None:
        gpu = settings.gpu
        task.set_accelerator_type(gpu.resource).set_accelerator_limit(gpu.count)
        kubernetes.add_node_selector(task, gpu.node_label, gpu.accelerator)
        kubernetes.add_toleration(task, key=gpu.taint_key, operator="Exists", effect="NoSchedule")
    task.set_caching_options(caching)
    return task


def build_pipeline(settings: CompileSettings | None = None) -> Any:
    """The pipeline, with compile-time settings (image, GPUs) baked in."""
    s = settings or CompileSettings()

    @dsl.pipeline(name=PIPELINE_NAME, description="Does this GAN face wear glasses?")
    def glasses_pipeline(
        source: str,
        resolution: int = defaults.RESOLUTION,
        val_fraction: float = defaults.VAL_FRACTION,
        test_fraction: float = defaults.TEST_FRACTION,
        seed: int = defaults.SEED,
        tuner: str = defaults.TUNER,
        max_trials: int = defaults.MAX_TRIALS,
        search_space: str = defaults.SEARCH_SPACE,
        tune_epochs: int = defaults.TUNE_EPOCHS,
        epochs: int = defaults.EPOCHS,
        batch_size: int = 0,
        min_accuracy: float = defaults.MIN_ACCURACY,
        max_regression: float = defaults.MAX_REGRESSION,
        uncertain_low: float = UNCERTAIN_LOW,
        uncertain_high: float = UNCERTAIN_HIGH,
        model_registry: str = "",
        score_source: str = "",
        accepted_output: str = "",
        num_shard_workers: int = 2,
        num_score_workers: int = 2,
        max_uncertain_share: float = Thresholds.max_uncertain_share,
        max_drift: float = Thresholds.max_drift,
    ) -> None:
        """Train, evaluate and run the glasses CNN.

        Args:
            source: Dataset folder or gs:// prefix in the Kaggle layout (train.csv, test.csv, faces).
            resolution: Side in pixels the faces are resized to (32 to 128 work well).
            val_fraction: Share of labelled faces held out for early stopping.
            test_fraction: Share of labelled faces held out for evaluation.
            seed: Seed of the split and of training.
            tuner: Keras Tuner search: random (the paper's), hyperband, bayesian, or none to skip.
            max_trials: Trials of the random or bayesian search.
            search_space: architecture, learning_rate, or all.
            tune_epochs: Epochs per tuning trial.
            epochs: Most epochs of the final training (early stopping may end it sooner).
            batch_size: Batch per GPU; 0 keeps the tuned hyperparameters' batch size.
            min_accuracy: Test accuracy a model needs to be blessed and published.
            max_regression: How far below the registry's latest model a new one may fall.
            uncertain_low: Low end of the uncertain band of probabilities.
            uncertain_high: High end of the uncertain band of probabilities.
            model_registry: gs:// or local registry of blessed models; empty publishes nothing.
            score_source: Folder or gs:// prefix of new GAN faces to score; empty skips it.
            accepted_output: Where confident faces are copied (glasses/, no_glasses/); empty: no copies.
            num_shard_workers: Parallel shard workers.
            num_score_workers: Parallel score workers.
            max_uncertain_share: A scored batch with a larger share of uncertain faces is unhealthy.
            max_drift: Largest KS distance (or class-share difference) of a scored batch from the model's reference.
        """  # noqa: E501
        fingerprint = _configure(c.fingerprint_source(source=source), s, caching=False)
        manifest = _configure(
            c.ingest(
                source=source,
                source_fingerprint=fingerprint.output,
                val_fraction=val_fraction,
                test_fraction=test_fraction,
                seed=seed,
            ),
            s,
        ).outputs["manifest"]
        shard_workers = _configure(c.fan_out(count=num_shard_workers), s)
        with dsl.ParallelFor(shard_workers.output, name="shard-workers") as index:
            part = _configure(
                c.shard(
                    manifest=manifest,
                    resolution=resolution,
                    num_workers=num_shard_workers,
                    worker_index=index,
                ),
                s,
            )
        shards = _configure(c.merge_shards(parts=dsl.Collected(part.outputs["shards"])), s).outputs[
            "shards"
        ]
        tuning = _configure(
            c.tune(
                shards=shards,
                tuner=tuner,
                search_space=search_space,
                max_trials=max_trials,
                epochs=tune_epochs,
                seed=seed,
            ),
            s,
        ).outputs["tuning"]
        model = _configure(
            c.train(shards=shards, tuning=tuning, epochs=epochs, batch_size=batch_size, seed=seed),
            s,
        ).outputs["model"]
        # the registry changes between runs under the same name: never reuse a cached verdict
        evaluation = _configure(
            c.evaluate(
                shards=shards,
                model=model,
                model_registry=model_registry,
                min_accuracy=min_accuracy,
                max_regression=max_regression,
                uncertain_low=uncertain_low,
                uncertain_high=uncertain_high,
            ),
            s,
            caching=False,
        )
        with dsl.If(evaluation.outputs["Output"] == True, name="blessed"):  # noqa: E712
            published = _configure(
                c.publish(
                    model=model,
                    evaluation=evaluation.outputs["evaluation"],
                    model_registry=model_registry,
                ),
                s,
                caching=False,
            )
            scoring = ScoreInputs(
                model, shards, uncertain_low, uncertain_high, accepted_output, num_score_workers,
                max_uncertain_share, max_drift,
            )  # fmt: skip
            _score_fan_out(s, scoring, source="", label="unlabelled", after=published)
            with dsl.If(score_source != "", name="new-faces"):
                _score_fan_out(s, scoring, source=score_source, label="new-faces", after=published)

    return glasses_pipeline


@dataclass(frozen=True)
class ScoreInputs:
    """The pipeline channels every score task takes."""

    model: Any
    shards: Any
    uncertain_low: Any
    uncertain_high: Any
    accepted_output: Any
    workers: Any
    max_uncertain_share: Any
    max_drift: Any


def _score_fan_out(s: CompileSettings, i: ScoreInputs, source: Any, label: str, after: Any) -> Any:
    """score over ``i.workers`` parallel tasks, then one task gathers their parts."""
    caching = label == "unlabelled"  # new faces arrive under the same folder name: always rescore
    common = {
        "model": i.model,
        "shards": i.shards,
        "source": source,
        "uncertain_low": i.uncertain_low,
        "uncertain_high": i.uncertain_high,
        "accepted_output": i.accepted_output,
    }
    fan = _configure(c.fan_out(count=i.workers).after(after), s)
    with dsl.ParallelFor(fan.output, name=f"score-{label}-workers") as index:
        part = _configure(c.score(**common, num_workers=i.workers, worker_index=index), s, caching)
    merged = c.merge_scores(
        model=i.model,
        max_uncertain_share=i.max_uncertain_share,
        max_drift=i.max_drift,
        parts=dsl.Collected(part.outputs["predictions"]),
    )
    merged.set_display_name(f"predictions-{label}")
    return _configure(merged, s, caching)


# ---- parameters: one list, from the pipeline's own signature --------------------------------


@functools.cache
def pipeline_parameters() -> dict[str, inspect.Parameter]:
    """The pipeline function's parameters (built once: building the DAG is not free)."""
    func = build_pipeline().pipeline_func
    return dict(inspect.signature(func).parameters)


def _type_of(param: inspect.Parameter) -> type:
    kind: type = param.annotation  # real types: this module has no postponed annotations
    return kind


class ConfigError(Exception):
    """A parameter file or value the pipeline cannot take; the message names it."""


def load_config(path: str) -> dict[str, Any]:
    """Pipeline arguments from a YAML mapping: known keys, right types."""
    import yaml

    try:
        with open(path) as f:
            values = yaml.safe_load(f)
    except OSError as err:
        raise ConfigError(f"{path}: cannot read ({err.strerror})") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not YAML ({err})") from err
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: expected a mapping of pipeline parameters")
    return check_arguments(values, path)


def check_arguments(values: Mapping[str, Any], source: str) -> dict[str, Any]:
    params = pipeline_parameters()
    unknown = sorted(set(values) - set(params))
    if unknown:
        raise ConfigError(
            f"{source}: unknown parameter(s) {', '.join(unknown)}; known: {', '.join(params)}"
        )
    checked: dict[str, Any] = {}
    for name, value in values.items():
        kind = _type_of(params[name])
        ok = isinstance(value, kind) and not isinstance(value, bool)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            raise ConfigError(f"{source}: {name}={value!r} should be {kind.__name__}")
        checked[name] = value
    return checked


# ---- command line ---------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--compile", action="store_true", help="write the pipeline YAML")
    mode.add_argument("--run-local", action="store_true", help="run the DAG with kfp.local")
    mode.add_argument("--submit", action="store_true", help="start a run on a KFP cluster")
    mode.add_argument("--schedule", metavar="CRON", help="recurring run, e.g. '0 3 * * 1'")
    parser.add_argument("--output", default=DEFAULT_OUTPUT, help="compiled YAML file")
    parser.add_argument("--image", default=c.DEFAULT_IMAGE, help="image of every step")
    parser.add_argument("--gpus", type=int, default=1, help="GPUs for train and tune; 0: none")
    parser.add_argument("--gpu-type", default=GpuSettings.accelerator, help="GKE accelerator")
    parser.add_argument("--pipeline-root", help="where artifacts go (gs://... on a cluster)")
    parser.add_argument("--host", help="KFP API endpoint, for --submit and --schedule")
    parser.add_argument("--experiment", default=PIPELINE_NAME)
    parser.add_argument("--service-account", default=SERVICE_ACCOUNT)
    parser.add_argument("--no-cache", action="store_true", help="run every step afresh")
    parser.add_argument(
        "--log-level",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="our messages at this level (default INFO); DEBUG also shows KFP's, TensorFlow's "
        "and the other libraries' own logs",
    )
    parser.add_argument(
        "--runner",
        choices=["subprocess", "docker"],
        default="subprocess",
        help="--run-local: steps as subprocesses of this Python, or as containers of --image",
    )
    parser.add_argument("--config", metavar="FILE", help="YAML file of pipeline parameters")
    parser.add_argument(
        "--synth-count",
        metavar="N",
        type=int,
        default=1500,
        help="--run-local without --source: how many faces to synthesise (default: 1500)",
    )
    parser.add_argument(
        "--synth-size", metavar="PX", type=int, default=256, help="... their side (default: 256)"
    )
    group = parser.add_argument_group(
        "pipeline parameters (the run form's fields in the KFP UI; flags override --config)"
    )
    inputs = build_pipeline().component_spec.inputs
    for name, param in pipeline_parameters().items():
        kind = _type_of(param)
        if param.default is not inspect.Parameter.empty:
            default = f"default: {param.default!r}"
        elif name == "source":
            default = "required, except for --run-local, which synthesises faces"
        else:
            default = "required"
        group.add_argument(
            "--" + name.replace("_", "-"),
            dest=f"param_{name}",
            metavar={int: "N", float: "X", bool: "BOOL"}.get(kind, "TEXT"),
            type=kind,
            default=None,
            help=f"{inputs[name].description or ''} ({default})".strip(),
        )
    return parser


def arguments_from(args: argparse.Namespace) -> dict[str, Any]:
    values = load_config(args.config) if args.config else {}
    for name in pipeline_parameters():
        given = getattr(args, f"param_{name}")
        if given is not None:
            values[name] = given
    return values


def settings_from(args: argparse.Namespace) -> CompileSettings:
    gpu = GpuSettings(count=args.gpus, accelerator=args.gpu_type) if args.gpus > 0 else None
    return CompileSettings(image=args.image, gpu=gpu)


def compile_pipeline(path: str, settings: CompileSettings | None = None) -> None:
    compiler.Compiler().compile(build_pipeline(settings), package_path=path)


@dataclass(frozen=True)
class LocalRun:
    run_dir: Path
    report: Path
    model: Path
    metrics: Path
    predictions: Path | None


def _docker_runner(root: Path, arguments: Mapping[str, Any]) -> Any:
    """kfp.local.DockerRunner for our image: its entrypoint is `glasses`, so KFP's command runs
    through /usr/bin/env; steps run as the calling user so files in the root stay theirs."""
    from docker.client import from_env
    from docker.errors import DockerException
    from kfp import local

    for name in ("source", "model_registry", "score_source", "accepted_output"):
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


LOCAL_SITE = Path(__file__).resolve().parent / "components" / "local_site"


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


def run_local(
    arguments: Mapping[str, Any],
    pipeline_root: str,
    settings: CompileSettings | None = None,
    cache: bool = False,
    runner: Any = None,
) -> LocalRun:
    """The whole DAG with KFP's own local runner: every step a subprocess of this Python, or
    whatever ``runner`` is given (the DockerRunner of ``_docker_runner``)."""
    from kfp import local

    root = Path(pipeline_root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    before = set(root.iterdir())
    local.init(
        runner=runner or local.SubprocessRunner(use_venv=False),
        pipeline_root=str(root),
        enable_caching=cache,
    )
    with _local_runner_quiet():
        build_pipeline(settings)(**arguments)
    (run_dir,) = [p for p in root.iterdir() if p not in before and p.name.startswith(PIPELINE_NAME)]
    predictions = run_dir / "merge-scores" / "predictions" / artifacts.PREDICTIONS
    return LocalRun(
        run_dir=run_dir,
        report=run_dir / "evaluate" / "evaluation" / artifacts.EVALUATION_PAGE,
        model=run_dir / "train" / "model",
        metrics=run_dir / "evaluate" / "evaluation" / artifacts.METRICS,
        predictions=predictions if predictions.exists() else None,
    )


def _synthetic_source(root: str, count: int, size: int) -> str:
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


def _cron(expression: str) -> str:
    """KFP wants six cron fields (seconds first); people write five."""
    fields = expression.split()
    if len(fields) == 5:
        return "0 " + expression
    if len(fields) != 6:
        raise ConfigError(f"--schedule {expression!r}: expected 5 cron fields (or 6 with seconds)")
    return expression


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if console.setup(args.log_level) != "DEBUG":
        # urllib3's retry chatter (_kfp_api says it in one line): filtered at the handler, as
        # kfp_server_api resets the urllib3 logger's level whenever it makes a client
        for handler in logging.getLogger().handlers:
            handler.addFilter(lambda record: not record.name.startswith("urllib3"))
    try:
        return _dispatch(args)
    except ConfigError as err:
        print(f"pipeline: error: {err}", file=sys.stderr)
        return 2
    except ClusterError as err:
        print(f"pipeline: error: {err}", file=sys.stderr)
        return 1


class ClusterError(Exception):
    """The KFP API could not be reached, or refused the request."""


@contextlib.contextmanager
def _kfp_api(host: str) -> Iterator[None]:
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


def _dispatch(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    arguments = arguments_from(args)
    if args.compile:
        compile_pipeline(args.output, settings)
        print(f"pipeline: compiled to {args.output} (image {settings.image})")
        return 0
    if args.run_local:
        root = args.pipeline_root or "runs/pipeline"
        # checked and built before any data is made, so a missing engine costs nothing
        runner = (
            _docker_runner(Path(root).resolve(), arguments) if args.runner == "docker" else None
        )
        if "source" not in arguments:
            arguments["source"] = _synthetic_source(root, args.synth_count, args.synth_size)
        arguments.setdefault("model_registry", os.path.join(os.path.abspath(root), "registry"))
        start = time.perf_counter()
        result = run_local(arguments, root, settings, not args.no_cache, runner)
        seconds = time.perf_counter() - start
        print(f"pipeline: finished in {seconds:.0f}s; run folder {result.run_dir}")
        if result.metrics.exists():
            m = json.loads(result.metrics.read_text())
            verdict = "blessed" if m["blessed"] else "NOT blessed"
            print(f"  accuracy {m['accuracy']:.4f} on {m['examples']} test faces; "
                  f"{verdict}: {m['blessing']['reason']}")  # fmt: skip
        print(f"  report:      {result.report}")
        print(f"  metrics:     {result.metrics}")
        print(f"  model:       {result.model}")
        print(f"  predictions: {result.predictions or 'none (model not blessed)'}")
        return 0
    if not args.host:
        raise ConfigError("--submit and --schedule need --host (the KFP API endpoint)")
    if "source" not in arguments:
        raise ConfigError("--source (or source: in --config) is required on a cluster")
    with _kfp_api(args.host):
        return _submit_or_schedule(args, settings, arguments)


def _submit_or_schedule(
    args: argparse.Namespace, settings: CompileSettings, arguments: dict[str, Any]
) -> int:
    cron = _cron(args.schedule) if args.schedule else ""
    client = _client(args.host)
    check_backend(args.host, backend_version(client))
    if args.submit:
        run = client.create_run_from_pipeline_func(
            build_pipeline(settings),
            arguments=arguments,
            experiment_name=args.experiment,
            pipeline_root=args.pipeline_root,
            enable_caching=not args.no_cache,
            service_account=args.service_account,
        )
        print(f"pipeline: submitted run {run.run_id} in experiment {args.experiment}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        package = os.path.join(tmp, DEFAULT_OUTPUT)
        compile_pipeline(package, settings)
        experiment = client.create_experiment(args.experiment)
        job = client.create_recurring_run(
            experiment_id=experiment.experiment_id,
            job_name=f"{PIPELINE_NAME}-retraining",
            cron_expression=cron,
            max_concurrency=1,
            no_catchup=True,
            params=arguments,
            pipeline_package_path=package,
            pipeline_root=args.pipeline_root,
            enable_caching=not args.no_cache,
            service_account=args.service_account,
        )
    print(f"pipeline: recurring run {job.recurring_run_id} on '{cron}' in {args.experiment}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
