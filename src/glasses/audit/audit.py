"""Audit: which labelled faces' labels look wrong? Out-of-fold probabilities + confident learning.

Every labelled face gets a probability from a model that never saw it (glasses.audit.folds),
then cleanlab flags the faces whose given label those probabilities contradict with confidence
(glasses.audit.flags), and the results go out for training and for people
(glasses.audit.exports).

The audit runs in ``rounds`` (2 by default): round r's fold models leave out of their training
(never out of their predictions) the faces round r - 1 flagged. Flags are only as precise as the
fold models are right about correctly labelled faces, and a model trained on the faces the first
round trusts is right far more often (measured: out-of-fold accuracy against the truth 0.936 ->
0.970 with 11.5 % flipped labels); the last round's probabilities decide.

Folds are parts of the ``glasses.parts`` protocol: ``num_workers`` and ``worker_index`` spread
them, a rerun skips finished folds, and whoever finds every fold done writes the result. A
round's folds wait for every fold of the round before: a worker that finds the earlier round
unfinished stops, and is run again once it is (in a DAG, each round is its own fan-out stage,
``through_round`` ending the first).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
from typing import Annotated, Any

from glasses import defaults, parts, storage
from glasses.artifacts import NO_AUDIT
from glasses.audit import exports
from glasses.audit.flags import FILTERS, Filter, Rows, flagged_ids, judge
from glasses.audit.folds import (
    LabelledFaces,
    Settings,
    digest,
    part_data,
    part_name,
    round_of,
    run_folds,
)
from glasses.data.manifest import LABELLED_SPLITS, read_manifest
from glasses.errors import InputError, OneOf, SettingError, at_least

log = logging.getLogger(__name__)

STEP = "audit"
APPLY = OneOf(("drop", "relabel"))  # what corrections.csv does with a flagged face
Apply = Annotated[str, APPLY]


def audit(
    data: str,
    output: str,
    settings: Settings | None = None,
    *,
    filter_by: Filter = defaults.AUDIT_FILTER,
    apply: Apply = defaults.AUDIT_APPLY,
    num_workers: int = 1,
    worker_index: int = 0,
    through_round: int | None = None,
) -> dict[str, Any] | None:
    """Do this worker's folds of every round it can (up to ``through_round``) on the shards
    ``data``; finish the audit if every fold of every round is done. Returns the report when
    this call finished it, None when other workers' folds are still to come."""
    from glasses.data.shard_format import read_metadata
    from glasses.model.train import check_settings

    s = settings or Settings()
    parts.check_worker(num_workers, worker_index)
    FILTERS.check("filter_by", filter_by)
    APPLY.check("apply", apply)
    at_least("folds", s.folds, 2)
    at_least("rounds", s.rounds, 1)
    last = s.rounds if through_round is None else through_round
    if not 1 <= last <= s.rounds:
        raise SettingError(f"through_round must be in 1..{s.rounds} (1..rounds), got {last}",
                           "through_round", "rounds")  # fmt: skip
    # the fold models are trained by train's loop: the same checks of its settings
    check_settings(s.hparams, s.epochs, s.patience, s.monitor, None)
    metadata = read_metadata(data)
    labelled = sum(metadata["splits"][split]["records"] for split in LABELLED_SPLITS)
    if labelled < 2 * s.folds:
        raise InputError(f"{data}: {labelled} labelled faces are too few for {s.folds} folds")
    plan = parts.Plan(
        STEP,
        [(part_name(r, k), digest(data, dict(metadata), s, r, k, filter_by))
         for r in range(1, s.rounds + 1) for k in range(s.folds)],
        {"shards": data, "manifest": metadata["manifest"], "filter_by": filter_by,
         "apply": apply, "settings": {**dataclasses.asdict(s), "hparams": None},
         "hparams": dataclasses.asdict(s.hparams)},
    )  # fmt: skip
    plan.write(output)
    faces: LabelledFaces | None = None
    for r in range(1, last + 1):
        untrusted: set[int] = set()
        if r > 1:
            before = _round_rows(output, plan, r - 1)
            if before is None:
                log.info("round %d waits for every fold of round %d; run this worker again "
                         "once the others are done", r, r - 1)  # fmt: skip
                return None
            untrusted = flagged_ids(before, filter_by)
        todo = _todo(output, plan, r, num_workers, worker_index)
        if todo:
            faces = faces or LabelledFaces.read(data, s)
            run_folds(faces, int(metadata["resolution"]), output, s, r, untrusted, todo)
    result = finish(output)
    if result is None:
        log.info("this worker's folds are done; others are still to come")
    return result


def _todo(
    output: str, plan: parts.Plan, r: int, num_workers: int, worker_index: int
) -> list[tuple[int, str, str]]:
    """This worker's folds of round r that no earlier run finished: (fold, name, digest)."""
    mine = parts.mine(
        [(k, name, d) for k, (name, d) in enumerate(_round_parts(plan, r))],
        num_workers,
        worker_index,
    )
    todo = [
        (k, name, d)
        for k, name, d in mine
        if parts.finished(output, name, d, part_data(output, name)) is None
    ]
    if len(todo) < len(mine):
        log.info("round %d: %d of this worker's %d folds already done",
                 r, len(mine) - len(todo), len(mine))  # fmt: skip
    return todo


def _round_parts(plan: parts.Plan, r: int) -> list[tuple[str, str]]:
    return [(name, d) for name, d in plan.parts if round_of(name) == r]


def _round_rows(output: str, plan: parts.Plan, r: int) -> Rows | None:
    """Every labelled face's row of round r (its out-of-fold probability), or None while a
    fold of that round is unfinished."""
    round_plan = parts.Plan(plan.step, _round_parts(plan, r), plan.context)
    if parts.collect(output, round_plan, lambda name: part_data(output, name)) is None:
        return None
    return _read_rows(output, round_plan.parts)


def _read_rows(output: str, round_parts: list[tuple[str, str]]) -> Rows:
    rows: Rows = []
    for name, _ in round_parts:
        rows.extend(csv.DictReader(io.StringIO(storage.read_text(part_data(output, name)[0]))))
    return rows


def finish(output: str) -> dict[str, Any] | None:
    """Flag and rank from the finished folds' probabilities, write every audit output and
    return the report; None while a fold is still to come. Needs only the output folder (the
    plan names the manifest), so a gathering step can call it."""
    import cleanlab

    plan = parts.Plan.read(output, STEP)
    sidecars = parts.collect(output, plan, lambda name: part_data(output, name))
    if sidecars is None:
        return None
    context = plan.context
    rounds = max(round_of(name) for name, _ in plan.parts)
    # every part is done (collected above): read each round's rows without checking again
    per_round = [_read_rows(output, _round_parts(plan, r)) for r in range(1, rounds + 1)]
    rows = per_round[-1]  # the last round's models are the strongest: they decide
    if len({r["given_label"] for r in rows}) < 2:
        raise InputError(f"{output}: every labelled face has the same label; nothing to audit")
    uris, missing = _uris(context["manifest"])
    verdict = judge(rows, context["filter_by"], uris)
    report = exports.report(verdict, context, sidecars, missing)
    report["flagged_per_round"] = [
        len(flagged_ids(r_rows, context["filter_by"])) for r_rows in per_round[:-1]
    ] + [report["flagged"]]
    report["cleanlab"] = cleanlab.__version__
    exports.write(output, verdict.faces, report, context["apply"])
    return report


def _uris(manifest: str) -> tuple[dict[int, str], str]:
    """Each face's original image, for thumbnails and review tasks; an unreadable manifest
    leaves them empty and says why, rather than failing the audit."""
    try:
        return {r.id: r.uri for r in read_manifest(manifest)}, ""
    except (FileNotFoundError, InputError) as err:
        log.warning("no image locations for the review (%s)", err)
        return {}, f"manifest {manifest} unreadable: {err}"


def write_no_audit(output: str) -> None:
    """An audit folder that says there is no audit (the pipeline's ``audit: off``): what a
    step that takes an audit folder gets when there is none."""
    storage.write_text(storage.join(output, NO_AUDIT), '{"audit": "off"}\n')


def found(folder: str) -> bool:
    """Whether ``folder`` holds an audit (of some rounds at least), not the no-audit folder."""
    return not storage.exists(storage.join(folder, NO_AUDIT))
