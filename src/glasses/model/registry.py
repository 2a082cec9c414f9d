"""The model registry: blessed models under ``REGISTRY/<version>/`` and a ``latest.json`` pointer.

The pointer is one small object written whole (a local rename, or a single GCS upload, which
is atomic), so a reader sees either the previous model or the new one, never half of a copy:
the version folder is complete before the pointer moves to it.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from glasses import storage
from glasses.artifacts import METRICS, MODEL_FILE, REGISTRY_LATEST
from glasses.errors import InputError, SettingError


@dataclass(frozen=True)
class Published:
    version: str
    model: str  # the version's folder: a model folder like the one train wrote


def latest(registry: str) -> Published | None:
    """The registry's current model, or None when nothing was published yet."""
    uri = storage.join(registry, REGISTRY_LATEST)
    try:
        pointer = json.loads(storage.read_text(uri))
    except FileNotFoundError:
        return None
    except json.JSONDecodeError as err:
        raise InputError(f"{uri}: not JSON ({err})") from err
    if not isinstance(pointer, dict) or not {"version", "model"} <= set(pointer):
        raise InputError(f"{uri}: expected an object with 'version' and 'model'")
    return Published(str(pointer["version"]), str(pointer["model"]))


def resolve(model: str, setting: str = "model") -> Published:
    """``model`` as a model folder train wrote, or, if it is a registry, its latest model:
    what a step that takes either scores with. Errors name the setting and the folder, before
    anything is read from a source. A model folder's version is its folder's name."""
    if storage.exists(storage.join(model, MODEL_FILE)):
        return Published(storage.basename(model), model)
    if storage.exists(storage.join(model, REGISTRY_LATEST)):
        published = latest(model)
        assert published is not None
        if not storage.exists(storage.join(published.model, MODEL_FILE)):
            raise InputError(f"{storage.join(model, REGISTRY_LATEST)}: its model "
                             f"{published.model} has no {MODEL_FILE}")  # fmt: skip
        return published
    # the setting's name is the only bare "model" in the message: each front end renames it
    raise SettingError(
        f"{setting} {model}: no {MODEL_FILE} (not a folder train wrote) and no "
        f"{REGISTRY_LATEST} (not a registry anything was published to: a training run with "
        "its registry set publishes there)",
        setting,
    )


def publish(model: str, registry: str, metrics: dict[str, Any] | None = None) -> Published:
    """Copy ``model`` (a folder train wrote) to a new version, then move the pointer to it."""
    files = storage.list_files(model)
    keras_file = next((f for f in files if storage.relative(f.uri, model) == MODEL_FILE), None)
    if keras_file is None:
        raise InputError(f"{model}: no model.keras, not a model folder train wrote")
    digest = hashlib.sha256(storage.read_bytes(keras_file.uri)).hexdigest()[:10]
    version = time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + digest
    target = storage.join(registry, version)
    for f in files:
        rel = storage.relative(f.uri, model)
        if rel.split("/")[0] in ("backup", "logs"):
            continue  # training scratch and TensorBoard logs are not part of the model
        storage.copy(f.uri, storage.join(target, rel))
    if metrics is not None:
        storage.write_text(storage.join(target, METRICS), json.dumps(metrics, indent=2))
    pointer = {
        "version": version,
        "model": target,
        "source": model,
        "published_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "accuracy": (metrics or {}).get("accuracy"),
    }
    storage.write_text(
        storage.join(registry, REGISTRY_LATEST), json.dumps(pointer, indent=2) + "\n"
    )
    return Published(version, target)
