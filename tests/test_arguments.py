"""The command line is read from the steps' signatures: every default written once, choices
from the steps' own checks, settings dataclasses offered field by field; errors name the
setting in each front end's words."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import typing
from pathlib import Path
from typing import Annotated

import pytest

from glasses import arguments, cli, defaults
from glasses.audit.folds import Settings
from glasses.errors import OneOf, SettingError, at_least, within
from glasses.model.hparams import HParams
from glasses.scoring.health import Thresholds


def step_parser(name: str) -> argparse.ArgumentParser:
    parser = cli.build_parser(name)
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    found: argparse.ArgumentParser = sub.choices[name]
    return found


@pytest.mark.parametrize("command", cli.COMMANDS, ids=lambda c: c.name)
def test_every_option_is_a_parameter_with_its_default(command: cli.Command) -> None:
    """Each option's default is the function's (or its settings dataclass field's), and every
    parameter but the ones a command line cannot give is offered."""
    func = command.function()
    parser = step_parser(command.name)
    actions = {a.dest: a for a in parser._actions if a.dest != "help"}
    hints = typing.get_type_hints(func)
    expected: dict[str, object] = {}
    for param in inspect.signature(func).parameters.values():
        if param.name in command.skip:
            continue
        kind = typing.get_args(hints[param.name])[0] if param.default is None else hints[param.name]
        if dataclasses.is_dataclass(kind) and kind is not HParams:
            for f in dataclasses.fields(kind):
                expected[f.name] = None if f.name == "hparams" else f.default
        elif param.default is not inspect.Parameter.empty:
            expected[param.name] = param.default
    for name, default in expected.items():
        shown = actions[name].default
        assert shown == (list(default) if isinstance(default, tuple) else default), name
    extra = set(actions) - set(expected) - {"fail_on_drift"}
    required = {n for n, p in inspect.signature(func).parameters.items() if p.default is p.empty}
    assert extra <= required  # the rest are the required ones (--data, --output, OUT)


def test_defaults_come_from_the_defaults_module() -> None:
    assert step_parser("audit").get_default("folds") == defaults.AUDIT_FOLDS
    assert step_parser("score").get_default("part_size") == defaults.PART_SIZE
    assert step_parser("score").get_default("drift_p_value") == defaults.DRIFT_P_VALUE
    assert step_parser("shard").get_default("shard_size") == defaults.SHARD_SIZE
    assert step_parser("train").get_default("monitor") == defaults.MONITOR


def test_choices_are_the_steps_own_checks() -> None:
    actions = {a.dest: a for a in step_parser("tune")._actions}
    assert actions["tuner"].choices == ("random", "hyperband", "bayesian", "none")
    actions = {a.dest: a for a in step_parser("audit")._actions}
    assert "confident_learning" in actions["filter_by"].choices
    assert actions["monitor"].choices == ("val_loss", "val_accuracy")  # a Settings field


def test_a_settings_dataclass_is_offered_field_by_field_and_gathered_again(
    tmp_path: Path,
) -> None:
    seen: dict[str, object] = {}

    def step(data: str, settings: Settings | None = None,
             thresholds: Thresholds | None = None) -> None:  # fmt: skip
        seen.update(settings=settings, thresholds=thresholds)

    (tmp_path / "hp.json").write_text('{"dropout": 0.2}')
    parser = argparse.ArgumentParser()
    options = arguments.add_options(parser, step)
    args = parser.parse_args(["--data", "d", "--folds", "3", "--max-drift", "0.5",
                              "--hparams", str(tmp_path / "hp.json")])  # fmt: skip
    arguments.call(step, options, args)
    assert seen["settings"] == Settings(folds=3, hparams=HParams(dropout=0.2))
    assert seen["thresholds"] == Thresholds(max_drift=0.5)
    args = parser.parse_args(["--data", "d"])
    arguments.call(step, options, args)
    assert seen["settings"] == Settings()  # no file: the untuned model


def test_a_new_option_without_a_help_text_is_a_developers_error() -> None:
    def step(data: str, callbacks: list[object] = []) -> None:  # noqa: B006
        pass

    with pytest.raises(KeyError):  # no help text for it: a step's new option needs one
        arguments.add_options(argparse.ArgumentParser(), step)
    arguments.add_options(argparse.ArgumentParser(), step, skip=("callbacks",))


def test_setting_errors_are_said_in_each_front_ends_words() -> None:
    with pytest.raises(SettingError) as caught:
        at_least("folds", 1, 2)
    assert str(caught.value) == "folds must be at least 2, got 1"
    assert caught.value.say(arguments.flag) == "--folds must be at least 2, got 1"
    assert caught.value.say({"folds": "audit_folds"}.get) == "audit_folds must be at least 2, got 1"
    with pytest.raises(SettingError) as caught:
        within("val_fraction", 1.0, 0.0, 1.0, open_high=True)
    assert caught.value.say(arguments.flag) == "--val-fraction must be in [0, 1), got 1.0"
    # a name inside another is left alone
    err = SettingError("worker_index must be in [0, num_workers), got 2", "worker_index",
                       "num_workers", "workers")  # fmt: skip
    assert err.say(arguments.flag) == "--worker-index must be in [0, --num-workers), got 2"
    # nor a file name or a path that holds it
    err = SettingError("model /runs/model/x: no model.keras there", "model")
    assert err.say(arguments.flag) == "--model /runs/model/x: no model.keras there"
    with pytest.raises(SettingError, match="tuner must be one of a, b, got 'c'"):
        OneOf(("a", "b")).check("tuner", "c")


def test_annotated_choices_reach_argparse() -> None:
    def step(mode: Annotated[str, OneOf(("x", "y"))] = "x") -> None:
        pass

    parser = argparse.ArgumentParser()
    arguments.add_options(parser, step, help={"mode": "the mode"})
    with pytest.raises(SystemExit):
        parser.parse_args(["--mode", "z"])
    assert parser.parse_args(["--mode", "y"]).mode == "y"
