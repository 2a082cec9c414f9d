"""A pipeline's parameters, read from its function's signature (no DAG is built), and the
checking of values given in a --config file or on the command line.
"""

import inspect
from collections.abc import Mapping
from typing import Any

from components.pipelines import TRAINING, Pipeline


def pipeline_parameters(pipeline: Pipeline = TRAINING) -> dict[str, inspect.Parameter]:
    """The pipeline function's parameters, in the order of the run form."""
    return dict(inspect.signature(pipeline.function).parameters)


def description(name: str, pipeline: Pipeline = TRAINING) -> str:
    """What the run form says of a parameter."""
    return pipeline.descriptions[name]


def type_of(param: inspect.Parameter) -> type:
    kind: type = param.annotation  # real types: this module has no postponed annotations
    return kind


def parse_bool(text: str) -> bool:
    """A command line's true/false (argparse's ``bool`` would call "false" true)."""
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ValueError(f"not true or false: {text!r}")


parse_bool.__name__ = "true or false"  # what argparse names in its error


class ConfigError(Exception):
    """A parameter file or value the pipeline cannot take; the message names it."""


def load_config(path: str, pipeline: Pipeline = TRAINING) -> dict[str, Any]:
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
    return check_arguments(values, path, pipeline)


def check_arguments(
    values: Mapping[str, Any], source: str, pipeline: Pipeline = TRAINING
) -> dict[str, Any]:
    params = pipeline_parameters(pipeline)
    choices = pipeline.choices
    unknown = sorted(set(values) - set(params))
    if unknown:
        raise ConfigError(
            f"{source}: unknown parameter(s) {', '.join(unknown)}; known: {', '.join(params)}"
        )
    checked: dict[str, Any] = {}
    for name, value in values.items():
        kind = type_of(params[name])
        ok = isinstance(value, kind) and (kind is bool or not isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            raise ConfigError(f"{source}: {name}={value!r} should be {kind.__name__}")
        if name in choices and value not in choices[name].values:
            raise ConfigError(f"{source}: {name}={value!r} should be one of "
                              f"{', '.join(choices[name].values)}")  # fmt: skip
        checked[name] = value
    return checked
