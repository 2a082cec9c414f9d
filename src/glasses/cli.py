"""The ``glasses`` command: one sub-command per pipeline step.

This module only parses arguments and reports; each step's logic lives in its own module as a
plain function, imported when its sub-command runs so that ``glasses synth`` never pays for
importing TensorFlow. The same command is the container's entrypoint.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

from glasses import __version__, console, defaults, storage
from glasses.audit import APPLY, DEFAULT_FILTER, FILTERS
from glasses.errors import InputError
from glasses.health import Thresholds
from glasses.images import DEFAULT_MAX_PIXELS
from glasses.metrics import UNCERTAIN_HIGH, UNCERTAIN_LOW
from glasses.shard import COMPRESSIONS, DEFAULT_SHARD_SIZE
from glasses.storage import StorageError
from glasses.synth import STYLES
from glasses.train import MONITORS
from glasses.tune import NO_TUNER, SEARCH_SPACES, TUNERS

Handler = Callable[[argparse.Namespace], None]
TENSORFLOW_STEPS = ("tune", "train", "evaluate", "score", "audit")
UNHEALTHY_EXIT = 3  # score --fail-on-drift: the batch drifted (1 is an error)


class UnhealthyBatch(Exception):
    """score --fail-on-drift found the batch unhealthy."""


class _HelpWithDefaults(argparse.ArgumentDefaultsHelpFormatter):
    """--help shows each option's default, where it has one to show."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.required or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def _synth(args: argparse.Namespace) -> None:
    from glasses.synth import synth

    summary = synth(
        args.out,
        count=args.count,
        size=args.size,
        unlabelled_fraction=args.unlabelled_fraction,
        label_noise=args.label_noise,
        seed=args.seed,
        workers=args.workers,
        style=args.style,
    )
    print(
        f"synth: wrote {summary.images} faces ({summary.labelled} labelled, "
        f"{summary.glasses} labelled glasses, {summary.flipped} labels flipped, "
        f"{summary.unlabelled} unlabelled) to {args.out} in {summary.seconds:.1f}s"
    )


def _ingest(args: argparse.Namespace) -> None:
    from glasses.ingest import ingest

    report = ingest(
        args.source,
        args.output,
        val_fraction=args.val_fraction,
        test_fraction=args.test_fraction,
        seed=args.seed,
        label_corrections=args.label_corrections,
    )
    counts = report.counts()
    fixes = report.corrections
    corrected = (
        f"; label corrections: {fixes['corrected']} relabelled, {fixes['dropped']} dropped, "
        f"{fixes['confirmed']} confirmed, {len(fixes['rejected'])} lines rejected"
        if fixes
        else ""
    )
    print(
        f"ingest: {counts['rows_read']} rows read, {counts['accepted']} accepted "
        f"{json.dumps(counts['per_split'])}, {counts['rejected_rows']} rejected, "
        f"{counts['orphan_images']} orphan images{corrected}; manifest: {report.manifest}"
    )


def _audit(args: argparse.Namespace) -> None:
    from glasses.audit import Settings, audit
    from glasses.model import HParams

    settings = Settings(
        folds=args.folds,
        rounds=args.rounds,
        seed=args.seed,
        epochs=args.epochs,
        patience=args.patience,
        monitor=args.monitor,
        hparams=HParams.load(args.hparams) if args.hparams else HParams(),
    )
    report = audit(
        args.data,
        args.output,
        settings,
        filter_by=args.filter_by,
        apply=args.apply,
        num_workers=args.num_workers,
        worker_index=args.worker_index,
        through_round=args.through_round,
    )
    if report is None:
        print(
            f"audit: this worker's folds are done as far as it can go; the others' are still "
            f"to come (run it again once they are done: {args.output})"
        )
        return
    noise = report["estimated_noise_rate"]
    print(
        f"audit: {report['flagged']} of {report['faces']} labelled faces flagged "
        f"({report['flagged_share']:.1%}); estimated wrong labels: {noise['0']:.1%} of "
        f"'no glasses', {noise['1']:.1%} of 'glasses'; review page: "
        f"{storage.join(args.output, 'review.html')}"
    )


def _shard(args: argparse.Namespace) -> None:
    from glasses.shard import shard

    summary = shard(
        args.manifest,
        args.output,
        resolution=args.resolution,
        shard_size=args.shard_size,
        compression=args.compression,
        workers=args.workers,
        num_workers=args.num_workers,
        worker_index=args.worker_index,
        max_pixels=args.max_pixels,
    )
    done = "metadata.json written" if summary.complete else "waiting for other workers' shards"
    print(
        f"shard: {summary.shards_written} shards, {summary.records} records, "
        f"{summary.rejected} rejected in {summary.seconds:.1f}s; {done} ({args.output})"
    )


def _train(args: argparse.Namespace) -> None:
    from glasses.model import HParams
    from glasses.train import train

    hparams = HParams.load(args.hparams) if args.hparams else None
    result = train(
        args.data,
        args.output,
        hparams=hparams,
        epochs=args.epochs,
        batch_size=args.batch_size,
        patience=args.patience,
        seed=args.seed,
        monitor=args.monitor,
    )
    resumed = (
        f", resumed after epoch {result.resumed_from_epoch}" if result.resumed_from_epoch else ""
    )
    print(
        f"train: {result.epochs_run} epochs on {result.replicas} replica(s){resumed}; best "
        f"val_loss {result.best_val_loss:.4f}, val_accuracy {result.best_val_accuracy:.4f} "
        f"in {result.seconds:.0f}s; model in {args.output}"
    )


def _tune(args: argparse.Namespace) -> None:
    from glasses.model import HParams
    from glasses.tune import tune

    result = tune(
        args.data,
        args.output,
        tuner=args.tuner,
        search_space=args.search_space,
        max_trials=args.max_trials,
        epochs=args.epochs,
        patience=args.patience,
        seed=args.seed,
        base=HParams.load(args.hparams) if args.hparams else None,
    )
    print(
        f"tune: {result.trials} trials, best val_loss {result.best_score:.4f} in "
        f"{result.seconds:.0f}s; {args.output}/best_hparams.json"
    )


def _evaluate(args: argparse.Namespace) -> None:
    from glasses.evaluate import evaluate

    result = evaluate(
        args.data,
        args.model,
        args.output,
        uncertain_low=args.uncertain_low,
        uncertain_high=args.uncertain_high,
        min_accuracy=args.min_accuracy,
        baseline=args.baseline,
        max_regression=args.max_regression,
        audit=args.audit,
    )
    m = result.metrics
    auc = "n/a" if m["roc_auc"] is None else f"{m['roc_auc']:.4f}"
    unflagged = (
        f" ({m['accuracy_unflagged']:.4f} on the {m['unflagged_faces']} whose labels the audit "
        "did not flag)"
        if m.get("accuracy_unflagged") is not None
        else ""
    )
    print(
        f"evaluate: {m['examples']} test faces, accuracy {m['accuracy']:.4f}{unflagged}, "
        f"ROC AUC {auc}, "
        f"{m['uncertain_fraction']:.1%} uncertain; "
        f"{'BLESSED' if result.blessed else 'NOT blessed'}: {result.reason}; "
        f"report: {args.output}/report.html"
    )


def _score(args: argparse.Namespace) -> None:
    from glasses.score import score

    summary = score(
        args.model,
        args.source,
        args.output,
        uncertain_low=args.uncertain_low,
        uncertain_high=args.uncertain_high,
        split=args.split,
        accepted_output=args.accepted_output,
        batch_size=args.batch_size,
        part_size=args.part_size,
        workers=args.workers,
        num_workers=args.num_workers,
        worker_index=args.worker_index,
        max_pixels=args.max_pixels,
        thresholds=Thresholds(args.max_uncertain_share, args.max_drift, args.drift_p_value),
        accept_only_healthy=args.accept_only_healthy,
    )
    done = "predictions.csv written" if summary.complete else "waiting for other workers' parts"
    print(
        f"score: {summary.scored} faces scored ({summary.uncertain} uncertain), "
        f"{summary.rejected} rejected in {summary.seconds:.1f}s; {done} ({args.output})"
    )
    if summary.healthy is not None:
        verdict = "healthy" if summary.healthy else "UNHEALTHY: " + "; ".join(summary.reasons)
        print(f"score: batch {verdict} ({args.output}/batch_report.html)")
        if not summary.healthy and args.fail_on_drift:
            raise UnhealthyBatch(verdict)


def _band(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--uncertain-low", type=float, default=UNCERTAIN_LOW, help="uncertain band's low end"
    )
    p.add_argument(
        "--uncertain-high", type=float, default=UNCERTAIN_HIGH, help="uncertain band's high end"
    )


def build_parser() -> argparse.ArgumentParser:
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

    def step(name: str, summary: str) -> argparse.ArgumentParser:
        """A sub-command whose --help shows every option's default."""
        return subparsers.add_parser(name, help=summary, formatter_class=_HelpWithDefaults)

    p = step("synth", "write a synthetic dataset in the Kaggle layout")
    p.add_argument("out", help="output folder or gs:// prefix")
    p.add_argument("--count", type=int, default=5000, help="number of faces")
    p.add_argument("--size", type=int, default=1024, help="image side in pixels")
    p.add_argument(
        "--unlabelled-fraction",
        type=float,
        default=0.1,
        help="share of faces, the last ids, listed in test.csv without label",
    )
    p.add_argument(
        "--label-noise",
        type=float,
        default=0.0,
        help="share of labelled rows whose label is flipped (the real data: ~0.115)",
    )
    p.add_argument("--seed", type=int, default=defaults.SEED, help="random seed")
    p.add_argument(
        "--workers", type=int, default=None, help="processes on this machine (default: all cores)"
    )
    p.add_argument(
        "--style",
        choices=STYLES,
        default="classic",
        help="drawing style: the same people and labels in a different hand",
    )
    p.set_defaults(handler=_synth)

    p = step("ingest", "validate a dataset and write a split manifest")
    p.add_argument("--source", required=True, help="folder or gs:// prefix in the Kaggle layout")
    p.add_argument("--output", required=True, help="folder or gs:// prefix for manifest.csv")
    p.add_argument(
        "--val-fraction",
        type=float,
        default=defaults.VAL_FRACTION,
        help="share of labelled rows for validation",
    )
    p.add_argument(
        "--test-fraction",
        type=float,
        default=defaults.TEST_FRACTION,
        help="share of labelled rows for the test",
    )
    p.add_argument("--seed", type=int, default=defaults.SEED, help="seed of the split hash")
    p.add_argument(
        "--label-corrections",
        action="append",
        default=[],
        metavar="FILE",
        help="CSV of id,label (0, 1 or drop), or Label Studio's CSV export of the audit's "
        "tasks; repeat for several (later files win)",
    )
    p.set_defaults(handler=_ingest)

    p = step("shard", "resize images into TFRecord shards")
    p.add_argument("--manifest", required=True, help="manifest.csv written by ingest")
    p.add_argument("--output", required=True, help="folder or gs:// prefix for the shards")
    p.add_argument("--resolution", type=int, default=defaults.RESOLUTION, help="side in pixels")
    p.add_argument(
        "--shard-size",
        type=int,
        default=DEFAULT_SHARD_SIZE,
        help="records per shard",
    )
    p.add_argument(
        "--compression", choices=COMPRESSIONS, default="NONE", help="shard file compression"
    )
    p.add_argument(
        "--workers", type=int, default=None, help="processes on this machine (default: all cores)"
    )
    p.add_argument("--num-workers", type=int, default=1, help="machines sharing the work")
    p.add_argument("--worker-index", type=int, default=0, help="this machine's number, from 0")
    p.add_argument(
        "--max-pixels",
        type=int,
        default=DEFAULT_MAX_PIXELS,
        help="reject images with more pixels than this (decompression bombs)",
    )
    p.set_defaults(handler=_shard)

    p = step("train", "train the CNN on shards (all GPUs, resumable)")
    p.add_argument("--data", required=True, help="shards folder or gs:// prefix")
    p.add_argument("--output", required=True, help="folder or gs:// prefix for the model")
    p.add_argument("--hparams", help="hyperparameters JSON, e.g. tune's best_hparams.json")
    p.add_argument(
        "--epochs",
        type=int,
        default=defaults.EPOCHS,
        help="most epochs (early stopping ends sooner)",
    )
    p.add_argument("--batch-size", type=int, default=None, help="per replica (default: hparams)")
    p.add_argument(
        "--patience",
        type=int,
        default=defaults.PATIENCE,
        help="early-stopping patience in epochs (after the warm-up)",
    )
    p.add_argument(
        "--monitor",
        choices=MONITORS,
        default=defaults.MONITOR,
        help="what early stopping watches (val_accuracy copes better with noisy labels)",
    )
    p.add_argument("--seed", type=int, default=defaults.SEED, help="random seed")
    p.set_defaults(handler=_train)

    p = step("audit", "find labelled faces whose labels look wrong (cleanlab)")
    p.add_argument("--data", required=True, help="shards folder or gs:// prefix")
    p.add_argument("--output", required=True, help="folder or gs:// prefix for the audit")
    p.add_argument("--folds", type=int, default=5, help="models, each predicting one fold")
    p.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="rounds of fold models; each later round trains without the faces the round "
        "before flagged (1 = half the time, less precise flags)",
    )
    p.add_argument(
        "--through-round",
        type=int,
        help="stop after this round (a fan-out stage of a DAG); default: every round",
    )
    p.add_argument("--hparams", help="hyperparameters JSON of the fold models (as train takes)")
    p.add_argument("--epochs", type=int, default=defaults.EPOCHS, help="most epochs per fold model")
    p.add_argument(
        "--patience", type=int, default=defaults.PATIENCE, help="early-stopping patience"
    )
    p.add_argument(
        "--monitor", choices=MONITORS, default=defaults.MONITOR, help="what early stopping watches"
    )
    p.add_argument(
        "--filter-by",
        choices=FILTERS,
        default=DEFAULT_FILTER,
        help="cleanlab.filter.find_label_issues' method",
    )
    p.add_argument(
        "--apply",
        choices=APPLY,
        default="drop",
        help="what corrections.csv does with a flagged face: drop it, or relabel it as suggested",
    )
    p.add_argument("--seed", type=int, default=defaults.SEED, help="seed of the folds and models")
    p.add_argument("--num-workers", type=int, default=1, help="machines sharing the folds")
    p.add_argument("--worker-index", type=int, default=0, help="this machine's number, from 0")
    p.set_defaults(handler=_audit)

    p = step("tune", "search hyperparameters with Keras Tuner")
    p.add_argument("--data", required=True, help="shards folder or gs:// prefix")
    p.add_argument("--output", required=True, help="folder or gs:// prefix for the results")
    p.add_argument(
        "--tuner",
        choices=[*TUNERS, NO_TUNER],
        default=defaults.TUNER,
        help="the search; none hands on the default hyperparameters",
    )
    p.add_argument(
        "--search-space",
        choices=SEARCH_SPACES,
        default=defaults.SEARCH_SPACE,
        help="what is searched: the network, Adam's schedule, or both",
    )
    p.add_argument(
        "--max-trials",
        type=int,
        default=defaults.MAX_TRIALS,
        help="trials (hyperband sizes its own)",
    )
    p.add_argument(
        "--epochs",
        "--tune-epochs",
        dest="epochs",
        type=int,
        default=defaults.TUNE_EPOCHS,
        help="epochs per trial (the pipeline's tune_epochs)",
    )
    p.add_argument(
        "--patience",
        type=int,
        default=defaults.TUNE_PATIENCE,
        help="early-stopping patience per trial",
    )
    p.add_argument("--seed", type=int, default=defaults.SEED, help="random seed")
    p.add_argument("--hparams", help="starting hyperparameters for what is not searched")
    p.set_defaults(handler=_tune)

    p = step("evaluate", "test-split metrics, blessing gate and HTML report")
    p.add_argument("--data", required=True, help="shards folder or gs:// prefix")
    p.add_argument("--model", required=True, help="model folder train wrote")
    p.add_argument("--output", required=True, help="folder or gs:// prefix for the results")
    _band(p)
    p.add_argument(
        "--min-accuracy",
        type=float,
        default=defaults.MIN_ACCURACY,
        help="accuracy a model needs to be blessed",
    )
    p.add_argument(
        "--baseline",
        help="earlier model folder, model registry, or metrics.json to compare against",
    )
    p.add_argument(
        "--max-regression",
        type=float,
        default=defaults.MAX_REGRESSION,
        help="how much accuracy below the baseline still blesses",
    )
    p.add_argument(
        "--audit", help="folder glasses audit wrote: also report accuracy on unflagged faces"
    )
    p.set_defaults(handler=_evaluate)

    p = step("score", "probability of glasses for a batch of faces")
    p.add_argument("--model", required=True, help="model folder train wrote")
    p.add_argument(
        "--source", required=True, help="image folder or gs:// prefix, manifest .csv, or shards"
    )
    p.add_argument("--output", required=True, help="folder or gs:// prefix for predictions.csv")
    _band(p)
    p.add_argument(
        "--split",
        default="unlabelled",
        help="split to score from a manifest or shards ('all' for every row)",
    )
    p.add_argument(
        "--accepted-output", help="copy confident faces here, into glasses/ and no_glasses/"
    )
    p.add_argument("--batch-size", type=int, default=256, help="faces per model call")
    p.add_argument("--part-size", type=int, default=500, help="images per resumable part")
    p.add_argument(
        "--workers", type=int, default=None, help="decoding processes (default: all cores)"
    )
    p.add_argument("--num-workers", type=int, default=1, help="machines sharing the work")
    p.add_argument("--worker-index", type=int, default=0, help="this machine's number, from 0")
    p.add_argument(
        "--max-pixels",
        type=int,
        default=DEFAULT_MAX_PIXELS,
        help="reject images with more pixels than this (decompression bombs)",
    )
    health = Thresholds()
    p.add_argument(
        "--max-uncertain-share",
        type=float,
        default=health.max_uncertain_share,
        help="a batch with a larger share of uncertain faces is unhealthy",
    )
    p.add_argument(
        "--max-drift",
        type=float,
        default=health.max_drift,
        help="largest KS distance (or class-share difference) from the model's reference",
    )
    p.add_argument(
        "--drift-p-value",
        type=float,
        default=health.p_value,
        help="a drift counts only when its test's p-value is below this too",
    )
    p.add_argument(
        "--fail-on-drift",
        action="store_true",
        help=f"exit with status {UNHEALTHY_EXIT} when the batch is unhealthy",
    )
    p.add_argument(
        "--accept-only-healthy",
        action="store_true",
        help="copy to --accepted-output only once the whole batch is found healthy",
    )
    p.set_defaults(handler=_score)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["glasses"]:
        # the image's entrypoint is `glasses`: `docker run IMAGE glasses train ...` and
        # `docker run IMAGE train ...` both work
        argv = argv[1:]
    args = parser.parse_args(argv)
    console.setup(args.log_level, tensorflow=args.step in TENSORFLOW_STEPS)
    handler: Handler = args.handler
    try:
        handler(args)
    except (InputError, OSError, StorageError) as err:
        print(f"glasses {args.step}: error: {err}", file=sys.stderr)
        return 1
    except UnhealthyBatch as err:
        print(f"glasses {args.step}: batch {err}", file=sys.stderr)
        return UNHEALTHY_EXIT
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
