#!/usr/bin/env python
"""The glasses KFP pipelines: build a DAG, compile it, run it locally, submit or schedule it.

    python pipeline.py --compile [--output glasses_pipeline.yaml] [--image IMAGE]
    python pipeline.py --run-local [--source DIR] [--pipeline-root DIR] [--epochs 5 ...]
    python pipeline.py --submit --host URL [--experiment NAME] --source gs://... [...]
    python pipeline.py --schedule "0 3 * * 1" --host URL --source gs://... [...]
    python pipeline.py --pipeline scoring --schedule "0 * * * *" --host URL \
        --model-registry gs://.../registry --source gs://.../gan-batches --review-output ...

``--pipeline training`` (the default) trains, evaluates and publishes; ``--pipeline scoring``
scores a new batch of GAN faces with the registry's latest model. Every parameter of the
chosen pipeline is also a flag (``--val-fraction 0.2``) and a key of ``--config FILE.yaml``;
flags win over the file, the file over the defaults.

This file is the command line only. The DAGs are in components/training.py and
components/scoring.py (both named in components/pipelines.py), the steps' components in
components/steps.py, where they run in components/placement.py, parameter checking in
components/parameters.py, and the runners (local, Docker, submit, schedule) in
components/runners.py.
"""

import argparse
import inspect
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from components import runners
from components.parameters import (
    ConfigError,
    check_arguments,
    description,
    load_config,
    parse_bool,
    pipeline_parameters,
    type_of,
)
from components.pipelines import EXPERIMENTS, PIPELINES, SCORING, TRAINING, Pipeline
from components.placement import DEFAULT_IMAGE, CompileSettings, GpuSettings
from components.runners import (
    Cluster,
    ClusterError,
    ExperimentsRun,
    LocalRun,
    ScoringRun,
    StepFailed,
)
from components.training import SERVICE_ACCOUNT
from glasses import artifacts, console

# ---- command line ---------------------------------------------------------------------------


def _chosen(argv: Sequence[str] | None) -> Pipeline:
    """The --pipeline of ``argv``: its parameters are the flags the full parser offers."""
    first = argparse.ArgumentParser(add_help=False)
    first.add_argument("--pipeline", choices=list(PIPELINES), default=TRAINING.key)
    known, _ = first.parse_known_args(argv)
    return PIPELINES[known.pipeline]


def build_parser(pipeline: Pipeline = TRAINING) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--pipeline",
        choices=list(PIPELINES),
        default=TRAINING.key,
        help="training (default): train, evaluate, publish; scoring: score a new batch with the "
        "registry's latest model. The flags below are the chosen pipeline's parameters",
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--compile", action="store_true", help="write the pipeline YAML")
    mode.add_argument("--run-local", action="store_true", help="run the DAG with kfp.local")
    mode.add_argument("--submit", action="store_true", help="start a run on a KFP cluster")
    mode.add_argument("--schedule", metavar="CRON", help="recurring run, e.g. '0 3 * * 1'")
    parser.add_argument(
        "--output",
        default=pipeline.default_output,
        help=f"compiled YAML file (default: {pipeline.default_output})",
    )
    parser.add_argument("--image", default=DEFAULT_IMAGE, help="image of every step")
    parser.add_argument("--gpus", type=int, default=1, help="GPUs for train and tune; 0: none")
    parser.add_argument("--gpu-type", default=GpuSettings.accelerator, help="GKE accelerator")
    parser.add_argument("--pipeline-root", help="where artifacts go (gs://... on a cluster)")
    parser.add_argument("--host", help="KFP API endpoint, for --submit and --schedule")
    parser.add_argument("--experiment", default=pipeline.name)
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
        f"{pipeline.key} pipeline parameters (the run form's fields in the KFP UI; flags override "
        "--config)"
    )
    for name, param in pipeline_parameters(pipeline).items():
        kind = type_of(param)
        if param.default is not inspect.Parameter.empty:
            default = f"default: {param.default!r}"
        elif name == "source" and pipeline is not SCORING:
            default = "required, except for --run-local, which synthesises faces"
        else:
            default = "required"
        group.add_argument(
            "--" + name.replace("_", "-"),
            dest=f"param_{name}",
            metavar={int: "N", float: "X", bool: "BOOL"}.get(kind, "TEXT"),
            type=parse_bool if kind is bool else kind,
            default=None,
            help=f"{description(name, pipeline)} ({default})",
        )
    return parser


def arguments_from(args: argparse.Namespace, pipeline: Pipeline = TRAINING) -> dict[str, Any]:
    values = load_config(args.config, pipeline) if args.config else {}
    flags = {
        name: getattr(args, f"param_{name}")
        for name in pipeline_parameters(pipeline)
        if getattr(args, f"param_{name}") is not None
    }
    return values | check_arguments(flags, "command line", pipeline)


def settings_from(args: argparse.Namespace) -> CompileSettings:
    gpu = GpuSettings(count=args.gpus, accelerator=args.gpu_type) if args.gpus > 0 else None
    return CompileSettings(image=args.image, gpu=gpu)


def main(argv: Sequence[str] | None = None) -> int:
    pipeline = _chosen(argv)
    args = build_parser(pipeline).parse_args(argv)
    if console.setup(args.log_level) != "DEBUG":
        # urllib3's retry chatter (kfp_api says it in one line): filtered at the handler, as
        # kfp_server_api resets the urllib3 logger's level whenever it makes a client
        for handler in logging.getLogger().handlers:
            handler.addFilter(lambda record: not record.name.startswith("urllib3"))
    try:
        return _dispatch(args, pipeline)
    except ConfigError as err:
        print(f"pipeline: error: {err}", file=sys.stderr)
        return 2
    except (ClusterError, StepFailed) as err:
        print(f"pipeline: error: {err}", file=sys.stderr)
        return 1


def _dispatch(args: argparse.Namespace, pipeline: Pipeline) -> int:
    settings = settings_from(args)
    arguments = arguments_from(args, pipeline)
    if args.compile:
        pipeline.compile(args.output, settings)
        print(f"pipeline: compiled the {pipeline.key} pipeline to {args.output} (image "
              f"{settings.image})")  # fmt: skip
        return 0
    if args.run_local:
        return _run_local(args, settings, arguments, pipeline)
    if not args.host:
        raise ConfigError("--submit and --schedule need --host (the KFP API endpoint)")
    _require(pipeline, arguments, "on a cluster")
    cluster = Cluster(host=args.host, experiment=args.experiment,
                      pipeline_root=args.pipeline_root, service_account=args.service_account,
                      cache=not args.no_cache)  # fmt: skip
    with runners.kfp_api(args.host):
        if args.submit:
            run_id = runners.submit(cluster, settings, arguments, pipeline)
            print(f"pipeline: submitted run {run_id} in experiment {args.experiment}")
            return 0
        job_id = runners.schedule(cluster, args.schedule, settings, arguments, pipeline)
    print(f"pipeline: recurring run {job_id} on '{runners.six_field_cron(args.schedule)}' in "
          f"{args.experiment}")  # fmt: skip
    return 0


def _require(pipeline: Pipeline, arguments: dict[str, Any], where: str) -> None:
    """Every parameter without a default is given, or one line names the missing ones."""
    missing = [name for name, param in pipeline_parameters(pipeline).items()
               if param.default is inspect.Parameter.empty and name not in arguments]  # fmt: skip
    if missing:
        flags = ", ".join("--" + m.replace("_", "-") for m in missing)
        verb = "is" if len(missing) == 1 else "are"
        raise ConfigError(f"{flags} (or {', '.join(m + ':' for m in missing)} in --config) "
                          f"{verb} required {where}")  # fmt: skip


def _say_scoring(result: ScoringRun) -> None:
    """Where a scoring run's results are, and what became of the batch."""
    report = json.loads((result.predictions / artifacts.SCORE_REPORT).read_text())
    c = report["counts"]
    health = json.loads((result.predictions / artifacts.BATCH_REPORT).read_text())
    verdict = "healthy" if health["healthy"] else "UNHEALTHY: " + "; ".join(health["reasons"])
    print(f"  model:       {report['model_version']}")
    print(f"  faces:       {c['listed']} listed, {c['skipped']} already scored, {c['scored']} "
          f"scored, {c['rejected']} rejected; {c['accepted']} accepted, {c['uncertain']} "
          "uncertain")  # fmt: skip
    print(f"  batch:       {verdict} ({result.predictions / artifacts.BATCH_PAGE})")
    print(f"  predictions: {result.predictions / artifacts.PREDICTIONS}")
    review = report["review"]["review_output"] or result.review
    print(f"  review:      {review} ({report['review']['tasks']} Label Studio tasks)")


def _run_local(
    args: argparse.Namespace,
    settings: CompileSettings,
    arguments: dict[str, Any],
    pipeline: Pipeline,
) -> int:
    scoring = pipeline is SCORING
    if scoring:
        _require(SCORING, arguments, "for --run-local of the scoring pipeline")
    root = args.pipeline_root or {
        SCORING.key: "runs/scoring",
        EXPERIMENTS.key: "runs/experiments",
    }.get(pipeline.key, "runs/pipeline")
    # checked and built before any data is made, so a missing engine costs nothing
    runner = (
        runners.docker_runner(Path(root).resolve(), arguments) if args.runner == "docker" else None
    )
    if not scoring and "source" not in arguments:
        arguments["source"] = runners.synthetic_source(root, args.synth_count, args.synth_size)
    if pipeline is TRAINING:
        arguments.setdefault("model_registry", os.path.join(os.path.abspath(root), "registry"))
    if pipeline is EXPERIMENTS:
        arguments.setdefault("experiments_output", os.path.join(os.path.abspath(root), "output"))
    start = time.perf_counter()
    cache = not args.no_cache
    result: LocalRun | ScoringRun | ExperimentsRun
    if scoring:
        result = runners.run_scoring_local(arguments, root, settings, cache, runner)
    elif pipeline is EXPERIMENTS:
        result = runners.run_experiments_local(arguments, root, settings, cache, runner)
    else:
        result = runners.run_local(arguments, root, settings, cache, runner)
    seconds = time.perf_counter() - start
    print(f"pipeline: finished in {seconds:.0f}s; run folder {result.run_dir}")
    if isinstance(result, ScoringRun):
        _say_scoring(result)
    elif isinstance(result, ExperimentsRun):
        print(f"  tables:      {result.tables}")
        print(f"  page:        {result.page}")
    else:
        _say_run(result)
    return 0


def _say_run(result: LocalRun) -> None:
    """Where a local run's results are, and what they say."""
    if result.metrics.exists():
        m = json.loads(result.metrics.read_text())
        verdict = "blessed" if m["blessed"] else "NOT blessed"
        print(f"  accuracy {m['accuracy']:.4f} on {m['examples']} test faces; "
              f"{verdict}: {m['blessing']['reason']}")  # fmt: skip
        if m.get("accuracy_unflagged") is not None:
            print(f"  accuracy {m['accuracy_unflagged']:.4f} on the {m['unflagged_faces']} "
                  "test faces whose labels the audit did not flag")  # fmt: skip
    if result.audit is not None:
        found = json.loads((result.audit / artifacts.AUDIT_REPORT).read_text())
        print(f"  audit:       {found['flagged']} of {found['faces']} labels flagged; "
              f"review {result.audit / artifacts.AUDIT_PAGE}")  # fmt: skip
    print(f"  report:      {result.report}")
    print(f"  metrics:     {result.metrics}")
    print(f"  model:       {result.model}")
    print(f"  predictions: {result.predictions or 'none (model not blessed)'}")
    if result.predictions is not None:
        health = json.loads((result.predictions.parent / artifacts.BATCH_REPORT).read_text())
        verdict = "healthy" if health["healthy"] else "UNHEALTHY: " + "; ".join(health["reasons"])
        print(f"  batch:       {verdict} ({result.predictions.parent / artifacts.BATCH_PAGE})")


if __name__ == "__main__":
    sys.exit(main())
