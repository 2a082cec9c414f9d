"""The ``glasses`` command: one sub-command per pipeline step.

This module only says which function each sub-command runs and what it prints; the options
come from the step functions' own signatures (glasses.arguments), and each step's logic lives
in its own module as a plain function, imported when its sub-command runs, so that ``glasses
synth`` never pays for importing TensorFlow. The same command is the container's entrypoint.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from glasses import __version__, arguments, console, storage
from glasses.errors import InputError, SettingError
from glasses.storage import StorageError

UNHEALTHY_EXIT = 3  # score --fail-on-drift: the batch drifted (1 is an error)


@dataclass(frozen=True)
class Command:
    """A sub-command: the step function it runs (``module:function``) and how it reports."""

    name: str
    summary: str
    step: str
    say: Callable[[Any, argparse.Namespace], str]
    positional: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    help: Mapping[str, str] = field(default_factory=dict)
    tensorflow: bool = False  # imported quietly before the step runs
    # the exit status a result asks for, beside 0 (score --fail-on-drift)
    status: Callable[[Any, argparse.Namespace], int] = lambda result, args: 0

    def function(self) -> Callable[..., Any]:
        module, name = self.step.split(":")
        found: Callable[..., Any] = getattr(importlib.import_module(module), name)
        return found


def _said_synth(s: Any, args: argparse.Namespace) -> str:
    return (
        f"wrote {s.images} faces ({s.labelled} labelled, {s.glasses} labelled glasses, "
        f"{s.flipped} labels flipped, {s.unlabelled} unlabelled) to {args.out} in "
        f"{s.seconds:.1f}s"
    )


def _said_ingest(report: Any, args: argparse.Namespace) -> str:
    counts, fixes, extra = report.counts(), report.corrections, report.extra_labels
    reviewed = (
        f"; extra labels: {extra['added']} reviewed faces added, {extra['repeated']} repeated, "
        f"{extra['left_out']} left out, {len(extra['rejected'])} lines rejected"
        if extra
        else ""
    )
    corrected = (
        f"; label corrections: {fixes['corrected']} relabelled, {fixes['dropped']} dropped, "
        f"{fixes['confirmed']} confirmed, {len(fixes['rejected'])} lines rejected"
        if fixes
        else ""
    )
    return (
        f"{counts['rows_read']} rows read, {counts['accepted']} accepted "
        f"{json.dumps(counts['per_split'])}, {counts['rejected_rows']} rejected, "
        f"{counts['orphan_images']} orphan images{reviewed}{corrected}; manifest: "
        f"{report.manifest}"
    )


def _said_shard(s: Any, args: argparse.Namespace) -> str:
    done = "metadata.json written" if s.complete else "waiting for other workers' shards"
    return (
        f"{s.shards_written} shards, {s.records} records, {s.rejected} rejected in "
        f"{s.seconds:.1f}s; {done} ({args.output})"
    )


def _said_tune(result: Any, args: argparse.Namespace) -> str:
    return (
        f"{result.trials} trials, best val_loss {result.best_score:.4f} in "
        f"{result.seconds:.0f}s; {args.output}/best_hparams.json"
    )


def _said_experiments(s: Any, args: argparse.Namespace) -> str:
    return (
        f"{s.runs} runs: {s.ran} run now, {s.skipped} finished before; {s.tables}, {s.page} "
        f"in {s.seconds:.0f}s"
    )


def _said_train(result: Any, args: argparse.Namespace) -> str:
    resumed = (
        f", resumed after epoch {result.resumed_from_epoch}" if result.resumed_from_epoch else ""
    )
    return (
        f"{result.epochs_run} epochs on {result.replicas} replica(s){resumed}; best "
        f"val_loss {result.best_val_loss:.4f}, val_accuracy {result.best_val_accuracy:.4f} "
        f"in {result.seconds:.0f}s; model in {args.output}"
    )


def _said_evaluate(result: Any, args: argparse.Namespace) -> str:
    m = result.metrics
    auc = "n/a" if m["roc_auc"] is None else f"{m['roc_auc']:.4f}"
    unflagged = (
        f" ({m['accuracy_unflagged']:.4f} on the {m['unflagged_faces']} whose labels the audit "
        "did not flag)"
        if m.get("accuracy_unflagged") is not None
        else ""
    )
    return (
        f"{m['examples']} test faces, accuracy {m['accuracy']:.4f}{unflagged}, ROC AUC {auc}, "
        f"{m['uncertain_fraction']:.1%} uncertain; "
        f"{'BLESSED' if result.blessed else 'NOT blessed'}: {result.reason}; "
        f"report: {args.output}/report.html"
    )


def _said_audit(report: Any, args: argparse.Namespace) -> str:
    if report is None:
        return (
            "this worker's folds are done as far as it can go; the others' are still to come "
            f"(run it again once they are done: {args.output})"
        )
    noise = report["estimated_noise_rate"]
    return (
        f"{report['flagged']} of {report['faces']} labelled faces flagged "
        f"({report['flagged_share']:.1%}), {report['undecided']} undecided (kept, in the review "
        f"queue); estimated wrong labels: {noise['0']:.1%} of "
        f"'no glasses', {noise['1']:.1%} of 'glasses'; review page: "
        f"{storage.join(args.output, 'review.html')}"
    )


def _said_score(s: Any, args: argparse.Namespace) -> str:
    done = "predictions.csv written" if s.complete else "waiting for other workers' parts"
    skipped = f", {s.skipped} skipped (scored before, by the ledger)" if s.skipped else ""
    lines = [
        f"{s.scored} faces scored ({s.uncertain} uncertain), {s.rejected} rejected{skipped} in "
        f"{s.seconds:.1f}s; {done} ({args.output})"
    ]
    if s.healthy is not None:
        verdict = "healthy" if s.healthy else "UNHEALTHY: " + "; ".join(s.reasons)
        lines.append(f"score: batch {verdict} ({args.output}/batch_report.html)")
    return "\n".join(lines)


def _score_status(s: Any, args: argparse.Namespace) -> int:
    return UNHEALTHY_EXIT if args.fail_on_drift and s.healthy is False else 0


COMMANDS = (
    Command("synth", "write a synthetic dataset in the Kaggle layout",
            "glasses.synth.dataset:synth", _said_synth, positional=("out",),
            help={"seed": "random seed of the faces and labels"}),
    Command("ingest", "validate a dataset and write a split manifest",
            "glasses.data.ingest:ingest", _said_ingest,
            help={"output": "folder or gs:// prefix for manifest.csv",
                  "seed": "seed of the split hash"}),
    Command("shard", "resize images into TFRecord shards", "glasses.data.shard:shard",
            _said_shard, help={"output": "folder or gs:// prefix for the shards"}),
    Command("train", "train the CNN on shards (all GPUs, resumable)",
            "glasses.model.train:train", _said_train, skip=("callbacks",), tensorflow=True,
            help={"output": "folder or gs:// prefix for the model",
                  "batch_size": "per replica (default: the hyperparameters')"}),
    Command("audit", "find labelled faces whose labels look wrong (cleanlab)",
            "glasses.audit.audit:audit", _said_audit, tensorflow=True,
            help={"output": "folder or gs:// prefix for the audit",
                  "hparams": "hyperparameters JSON of the fold models (as train takes)",
                  "epochs": "most epochs per fold model", "patience": "early-stopping patience",
                  "seed": "seed of the folds and models",
                  "num_workers": "machines sharing the folds"}),
    Command("tune", "search hyperparameters with Keras Tuner", "glasses.model.tune:tune",
            _said_tune, tensorflow=True, aliases={"epochs": ("--tune-epochs",)},
            help={"epochs": "epochs per trial (the pipeline's tune_epochs)",
                  "patience": "early-stopping patience per trial",
                  "hparams": "starting hyperparameters for what is not searched"}),
    Command("evaluate", "test-split metrics, blessing gate and HTML report",
            "glasses.evaluation.evaluate:evaluate", _said_evaluate, skip=("split",),
            tensorflow=True),
    Command("experiments", "the paper's studies over seeds, beside its tables",
            "glasses.experiments.run:experiments", _said_experiments, tensorflow=True,
            help={"output": "folder or gs:// prefix for the runs, tables and page",
                  "source": "folder or gs:// prefix in the Kaggle layout (a ground_truth.csv "
                  "beside its CSVs adds accuracy against the truth)",
                  "epochs": "epochs of every training (default: the paper's 20, 30 for the "
                  "models; the defaults' under --protocol project)",
                  "max_trials": "trials of each tuned model's random search"}),
    Command("score", "probability of glasses for a batch of faces",
            "glasses.scoring.score:score", _said_score, tensorflow=True, status=_score_status,
            help={"model": "model folder train wrote, or a registry (its latest model)",
                  "source": "image folder or gs:// prefix, manifest .csv, or shards",
                  "output": "folder or gs:// prefix for predictions.csv",
                  "batch_size": "faces per model call",
                  "workers": "decoding processes (default: all cores)"}),
)  # fmt: skip


class _HelpWithDefaults(argparse.ArgumentDefaultsHelpFormatter):
    """--help shows each option's default, where it has one to show."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.required or "default" in (action.help or ""):
            return action.help
        if action.default == [] or action.default is False:
            return action.help
        return super()._get_help_string(action)


def build_parser(step: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with ``step``, only that sub-command's options are read from
    its function (the others are listed by name), so a step imports no other step's module."""
    parser = argparse.ArgumentParser(
        prog="glasses",
        description="Train, evaluate and run a CNN that tells whether a GAN face wears glasses.",
    )
    parser.add_argument("--version", action="version", version=f"glasses {__version__}")
    parser.add_argument(
        "--log-level",
        default=None,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="our messages at this level (default INFO, or $GLASSES_LOG_LEVEL); DEBUG also "
        "shows TensorFlow's and the other libraries' own logs",
    )
    subparsers = parser.add_subparsers(dest="step", required=True, metavar="STEP")
    for command in COMMANDS:
        sub = subparsers.add_parser(
            command.name, help=command.summary, formatter_class=_HelpWithDefaults
        )
        if step is not None and command.name != step:
            continue
        options = arguments.add_options(
            sub, command.function(), positional=command.positional, skip=command.skip,
            aliases=command.aliases, help=command.help,
        )  # fmt: skip
        if command.name == "score":
            sub.add_argument(
                "--fail-on-drift",
                action="store_true",
                help=f"exit with status {UNHEALTHY_EXIT} when the batch is unhealthy",
            )
        sub.set_defaults(command=command, options=options)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["glasses"]:
        # the image's entrypoint is `glasses`: `docker run IMAGE glasses train ...` and
        # `docker run IMAGE train ...` both work
        argv = argv[1:]
    names = {command.name for command in COMMANDS}
    step = next((arg for arg in argv if arg in names), None)
    args = build_parser(step).parse_args(argv)
    command: Command = args.command
    console.setup(args.log_level, tensorflow=command.tensorflow)
    try:
        result = arguments.call(command.function(), args.options, args)
    except SettingError as err:
        print(f"glasses {args.step}: error: {err.say(arguments.flag)}", file=sys.stderr)
        return 1
    except (InputError, OSError, StorageError) as err:
        print(f"glasses {args.step}: error: {err}", file=sys.stderr)
        return 1
    print(f"{command.name}: {command.say(result, args)}")
    status = command.status(result, args)
    if status:
        print(f"glasses {args.step}: batch UNHEALTHY: {'; '.join(result.reasons)}",
              file=sys.stderr)  # fmt: skip
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
