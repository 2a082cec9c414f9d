"""The pipeline's parameters, read from the pipeline function's signature (no DAG is built),
and the checking of values given in a --config file or on the command line.
"""

import inspect
from collections.abc import Mapping
from typing import Any

from components.training import AUDIT_MODES, DESCRIPTIONS, glasses_pipeline
from glasses.errors import OneOf

# parameters whose string values come from a fixed set (the DAG branches on them)
CHOICES: dict[str, OneOf] = {"audit": AUDIT_MODES}


def pipeline_parameters() -> dict[str, inspect.Parameter]:
    """The pipeline function's parameters, in the order of the run form."""
    return dict(inspect.signature(glasses_pipeline).parameters)


def description(name: str) -> str:
    """What the run form says of a parameter."""
    return DESCRIPTIONS[name]


def type_of(param: inspect.Parameter) -> type:
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
        kind = type_of(params[name])
        ok = isinstance(value, kind) and not isinstance(value, bool)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            raise ConfigError(f"{source}: {name}={value!r} should be {kind.__name__}")
        if name in CHOICES and value not in CHOICES[name].values:
            raise ConfigError(f"{source}: {name}={value!r} should be one of "
                              f"{', '.join(CHOICES[name].values)}")  # fmt: skip
        checked[name] = value
    return checked
