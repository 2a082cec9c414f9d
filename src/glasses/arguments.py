"""A step function's parameters as command-line options, read from its signature.

Each option's name (``worker_index`` is ``--worker-index``), type, default and choices come
from the step's signature (``Annotated[str, OneOf(...)]`` gives the choices), so a default is
written once, where the step is (or in glasses.defaults). A parameter typed with a dataclass of
settings (the audit's fold-model Settings, the batch-health Thresholds) offers each of its
fields; one typed HParams takes a hyperparameters file. Only the help texts are written here,
once per parameter name.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from glasses import defaults
from glasses.errors import OneOf
from glasses.model.hparams import HParams

# one text per parameter name, whichever step it belongs to; Command.help overrides per step
HELP: dict[str, str] = {
    "output": "folder or gs:// prefix for the results",
    "data": "shards folder or gs:// prefix",
    "model": "model folder train wrote",
    "hparams": "hyperparameters JSON file, e.g. tune's best_hparams.json (default: the untuned "
    "model)",
    "seed": "random seed",
    "workers": "processes on this machine (default: all cores)",
    "num_workers": "machines sharing the work",
    "worker_index": "this machine's number, from 0",
    "max_pixels": "reject images with more pixels than this (decompression bombs)",
    "epochs": "most epochs (early stopping ends sooner)",
    "patience": "early-stopping patience in epochs (after the warm-up)",
    "monitor": "what early stopping watches (val_accuracy copes better with noisy labels)",
    "batch_size": "faces per batch",
    "uncertain_low": "uncertain band's low end",
    "uncertain_high": "uncertain band's high end",
    # synth
    "out": "output folder or gs:// prefix",
    "count": "number of faces",
    "size": "image side in pixels",
    "unlabelled_fraction": "share of faces, the last ids, listed in test.csv without label",
    "label_noise": "share of labelled rows whose label is flipped (the real data: ~0.115)",
    "style": "drawing style: the same people and labels in a different hand",
    "noise_model": "which labels are flipped: uniform, a coin toss per label; instance, mostly "
    "the hard faces' (faint frames, frame-like eye regions), as in the real data",
    "noise_asymmetry": "share of the flips that are 'glasses' on a face without glasses "
    f"(the real data: about {defaults.REAL_NOISE_ASYMMETRY}; unless given, wherever the faces "
    "are hard, or a plain coin toss)",
    # ingest
    "source": "folder or gs:// prefix in the Kaggle layout",
    "val_fraction": "share of labelled rows for validation",
    "test_fraction": "share of labelled rows for the test",
    "label_corrections": "CSV of id,label (0, 1 or drop), or Label Studio's CSV export of the "
    "audit's tasks; repeat for several (later files win)",
    "extra_labels": "reviewed faces from outside the source: CSV of uri,label, Label Studio's "
    "CSV export of a scoring run's review tasks, or a folder of such files; repeat for several",
    # shard
    "manifest": "manifest.csv written by ingest",
    "resolution": "side in pixels",
    "shard_size": "records per shard",
    "compression": "shard file compression",
    # tune
    "tuner": "the search; none hands on the starting hyperparameters",
    "search_space": "what is searched: the network, Adam's schedule, or both",
    "max_trials": "trials (hyperband sizes its own)",
    # evaluate
    "min_accuracy": "accuracy a model needs to be blessed",
    "baseline": "earlier model folder, model registry, or metrics.json to compare against",
    "max_regression": "how much accuracy below the baseline still blesses",
    "audit": "folder glasses audit wrote: also report accuracy on unflagged faces",
    # audit
    "folds": "models, each predicting one fold",
    "rounds": "rounds of fold models; each later round trains without the faces the round "
    "before flagged (1 = half the time, less precise flags)",
    "through_round": "stop after this round (a fan-out stage of a DAG); default: every round",
    "filter_by": "cleanlab.filter.find_label_issues' method",
    "apply": "what corrections.csv does with a flagged face: drop it, or relabel it as suggested",
    # experiments
    "study": "comma-separated studies: resolution, batch, models",
    "seeds": "runs of each configuration, seeds 0, 1, ...",
    "tune_epochs": "epochs per tuning trial",
    "protocol": "paper: its plain loss and epochs; project: this project's defaults",
    "configuration": "one configuration's key (glasses.experiments.studies)",
    # score
    "split": "split to score from a manifest or shards ('all' for every row)",
    "accepted_output": "copy confident faces here, into glasses/ and no_glasses/",
    "part_size": "images per resumable part",
    "max_uncertain_share": "a batch with a larger share of uncertain faces is unhealthy",
    "max_drift": "largest KS distance (or class-share difference) from the model's reference",
    "drift_p_value": "a drift counts only when its test's p-value is below this too",
    "accept_only_healthy": "copy to --accepted-output only once the whole batch is found healthy",
    "ledger": "folder or gs:// prefix recording what each model scored: a folder's files this "
    "model scored before are skipped (an hourly run over a growing folder scores new faces only)",
    "review_output": "where the uncertain faces go as Label Studio tasks and a review page "
    "(default: OUTPUT/review)",
}


def flag(name: str) -> str:
    """``worker_index`` -> ``--worker-index``: how the command line says a setting."""
    return "--" + name.replace("_", "-")


@dataclass(frozen=True)
class Option:
    """One command-line option: the parameter it sets, and the dataclass it is a field of."""

    name: str
    group: str = ""  # the dataclass parameter holding this field; "" for a plain parameter
    hparams_file: bool = False


def _unwrap(kind: Any) -> tuple[Any, bool]:
    """``X | None`` -> (X, True); anything else -> (itself, False)."""
    args = typing.get_args(kind)
    if typing.get_origin(kind) in (typing.Union, types.UnionType) and type(None) in args:
        (inner,) = [a for a in args if a is not type(None)]
        return inner, True
    return kind, False


def add_options(
    parser: argparse.ArgumentParser,
    func: Callable[..., Any],
    *,
    positional: Sequence[str] = (),
    skip: Sequence[str] = (),
    aliases: Mapping[str, Sequence[str]] | None = None,
    help: Mapping[str, str] | None = None,
) -> list[Option]:
    """One option per parameter of ``func`` (or per field of a dataclass parameter)."""
    hints = typing.get_type_hints(func, include_extras=True)
    options: list[Option] = []
    for param in inspect.signature(func).parameters.values():
        if param.name in skip:
            continue
        kind, _ = _unwrap(hints[param.name])
        if dataclasses.is_dataclass(kind) and kind is not HParams:
            field_hints = typing.get_type_hints(kind, include_extras=True)
            for f in dataclasses.fields(kind):
                default = inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default
                options.append(_add(parser, f.name, field_hints[f.name], default, param.name,
                                    positional, aliases, help))  # fmt: skip
            continue
        options.append(
            _add(parser, param.name, hints[param.name], param.default, "", positional,
                 aliases, help)
        )  # fmt: skip
    return options


def _add(
    parser: argparse.ArgumentParser,
    name: str,
    hint: Any,
    default: Any,
    group: str,
    positional: Sequence[str],
    aliases: Mapping[str, Sequence[str]] | None,
    help: Mapping[str, str] | None,
) -> Option:
    text = (help or {}).get(name) or HELP[name]
    kind, _ = _unwrap(hint)
    choices: tuple[str, ...] | None = None
    if typing.get_origin(kind) is typing.Annotated:
        base, *extras = typing.get_args(kind)
        choices = next((e.values for e in extras if isinstance(e, OneOf)), None)
        kind = base
    if name in positional:
        parser.add_argument(name, help=text)
        return Option(name, group)
    flags = [flag(name), *((aliases or {}).get(name, ()))]
    required = default is inspect.Parameter.empty
    common: dict[str, Any] = {"dest": name, "help": text}
    if kind is HParams:  # a file; without it the untuned model
        parser.add_argument(*flags, metavar="FILE", default=None, **common)
        return Option(name, group, hparams_file=True)
    if not required:
        common["default"] = default
    if kind is bool:
        parser.add_argument(*flags, action="store_true", **common)
    elif typing.get_origin(kind) in (Sequence, list, tuple):
        common["default"] = list(default or ())
        parser.add_argument(*flags, action="append", metavar="FILE", **common)
    else:
        scalar = kind if kind in (int, float, str) else str
        parser.add_argument(*flags, type=scalar, choices=choices, required=required, **common)
    return Option(name, group)


def call(func: Callable[..., Any], options: Sequence[Option], args: argparse.Namespace) -> Any:
    """``func`` called with the parsed values; dataclass fields gathered into their dataclass.
    Hyperparameter files are read here, inside the caller's error handling."""
    plain: dict[str, Any] = {}
    groups: dict[str, dict[str, Any]] = {}
    for option in options:
        value = getattr(args, option.name)
        if option.hparams_file:
            value = HParams.load(value) if value else (None if not option.group else HParams())
        (groups.setdefault(option.group, {}) if option.group else plain)[option.name] = value
    hints = typing.get_type_hints(func, include_extras=True)
    for group, values in groups.items():
        kind, _ = _unwrap(hints[group])
        plain[group] = kind(**values)
    return func(**plain)
