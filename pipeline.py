#!/usr/bin/env python
"""The glasses KFP pipeline: build the DAG, compile it, run it locally, submit or schedule it.

    python pipeline.py --compile [--output glasses_pipeline.yaml] [--image IMAGE]
    python pipeline.py --run-local [--source DIR] [--pipeline-root DIR] [--epochs 5 ...]
    python pipeline.py --submit --host URL [--experiment NAME] --source gs://... [...]
    python pipeline.py --schedule "0 3 * * 1" --host URL --source gs://... [...]

Every pipeline parameter is also a flag (``--val-fraction 0.2``) and a key of ``--config
FILE.yaml``; flags win over the file, the file over the defaults.

This file is the command line only. The DAG is in components/training.py, the steps'
components in components/steps.py, where they run in components/placement.py, parameter
checking in components/parameters.py, and the runners (local, Docker, submit, schedule) in
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
    pipeline_parameters,
    type_of,
)
from components.placement import DEFAULT_IMAGE, CompileSettings, GpuSettings
from components.runners import Cluster, ClusterError, LocalRun
from components.training import DEFAULT_OUTPUT, PIPELINE_NAME, SERVICE_ACCOUNT, compile_pipeline
from glasses import artifacts, console

# ---- command line ---------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--compile", action="store_true", help="write the pipeline YAML")
    mode.add_argument("--run-local", action="store_true", help="run the DAG with kfp.local")
    mode.add_argument("--submit", action="store_true", help="start a run on a KFP cluster")
    mode.add_argument("--schedule", metavar="CRON", help="recurring run, e.g. '0 3 * * 1'")
    parser.add_argument("--output", default=DEFAULT_OUTPUT, help="compiled YAML file")
    parser.add_argument("--image", default=DEFAULT_IMAGE, help="image of every step")
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
    for name, param in pipeline_parameters().items():
        kind = type_of(param)
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
            help=f"{description(name)} ({default})",
        )
    return parser


def arguments_from(args: argparse.Namespace) -> dict[str, Any]:
    values = load_config(args.config) if args.config else {}
    flags = {
        name: getattr(args, f"param_{name}")
        for name in pipeline_parameters()
        if getattr(args, f"param_{name}") is not None
    }
    return values | check_arguments(flags, "command line")


def settings_from(args: argparse.Namespace) -> CompileSettings:
    gpu = GpuSettings(count=args.gpus, accelerator=args.gpu_type) if args.gpus > 0 else None
    return CompileSettings(image=args.image, gpu=gpu)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if console.setup(args.log_level) != "DEBUG":
        # urllib3's retry chatter (kfp_api says it in one line): filtered at the handler, as
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


def _dispatch(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    arguments = arguments_from(args)
    if args.compile:
        compile_pipeline(args.output, settings)
        print(f"pipeline: compiled to {args.output} (image {settings.image})")
        return 0
    if args.run_local:
        return _run_local(args, settings, arguments)
    if not args.host:
        raise ConfigError("--submit and --schedule need --host (the KFP API endpoint)")
    if "source" not in arguments:
        raise ConfigError("--source (or source: in --config) is required on a cluster")
    cluster = Cluster(host=args.host, experiment=args.experiment,
                      pipeline_root=args.pipeline_root, service_account=args.service_account,
                      cache=not args.no_cache)  # fmt: skip
    with runners.kfp_api(args.host):
        if args.submit:
            run_id = runners.submit(cluster, settings, arguments)
            print(f"pipeline: submitted run {run_id} in experiment {args.experiment}")
            return 0
        job_id = runners.schedule(cluster, args.schedule, settings, arguments)
    print(f"pipeline: recurring run {job_id} on '{runners.six_field_cron(args.schedule)}' in "
          f"{args.experiment}")  # fmt: skip
    return 0


def _run_local(
    args: argparse.Namespace, settings: CompileSettings, arguments: dict[str, Any]
) -> int:
    root = args.pipeline_root or "runs/pipeline"
    # checked and built before any data is made, so a missing engine costs nothing
    runner = (
        runners.docker_runner(Path(root).resolve(), arguments) if args.runner == "docker" else None
    )
    if "source" not in arguments:
        arguments["source"] = runners.synthetic_source(root, args.synth_count, args.synth_size)
    arguments.setdefault("model_registry", os.path.join(os.path.abspath(root), "registry"))
    start = time.perf_counter()
    result = runners.run_local(arguments, root, settings, not args.no_cache, runner)
    seconds = time.perf_counter() - start
    print(f"pipeline: finished in {seconds:.0f}s; run folder {result.run_dir}")
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
