"""Train's backup: everything a killed run needs to go on as if it had never stopped.

A preempted node or a KFP retry runs ``glasses train`` again on the same output; it must end
with the model a run never interrupted would have written (KFP's cache and the audit's
resumed folds rely on "same inputs, same model"). Keras' ``BackupAndRestore`` keeps the
weights and the optimiser; the rest of the state is kept here, after every epoch:

- the history (which the loss's drop rate and early stopping read),
- the random layers' seed states (Keras keeps them out of its weights files, so a resumed
  run drew other dropout masks and flips),
- the weight-averaging window (the last epochs' weights) and early stopping's state (the best
  score, its weights, the patience used up).

The train split's order is a function of (seed, epoch) (``glasses.data.dataset``), so a
resumed run skips the batches of the epochs done and sees what the uninterrupted run saw.
(``mixup``, off by default, draws its pairs from tf.data's own random state: after a resume
they differ.)

On object storage the epochs are mirrored whole: ``BACKUP/epoch-NNNN/`` first, then
``BACKUP/latest.json`` naming it (the commit), then the epoch before is deleted. A run killed
while mirroring leaves the previous epoch named, never a mix of two epochs' files.
"""

from __future__ import annotations

import json
import os
from typing import Any

from glasses import storage

LATEST = "latest.json"
STATE = "resume_state.npz"
STATE_META = "resume_state.json"


def epoch_folder(backup: str, epochs_done: int) -> str:
    return storage.join(backup, f"epoch-{epochs_done:04d}")


def restore(backup: str, local: str) -> None:
    """Copy the last committed epoch of ``backup`` into the empty folder ``local`` (nothing
    when there is none)."""
    try:
        latest = json.loads(storage.read_text(storage.join(backup, LATEST)))
    except FileNotFoundError:
        return
    storage.copy_tree(epoch_folder(backup, int(latest["epochs_done"])), local)


def commit(local: str, backup: str, epochs_done: int) -> None:
    """Mirror ``local`` as epoch ``epochs_done`` and name it the latest (module docstring)."""
    storage.copy_tree(local, epoch_folder(backup, epochs_done))
    storage.write_text(storage.join(backup, LATEST), json.dumps({"epochs_done": epochs_done}))
    if epochs_done > 1:
        storage.delete_tree(epoch_folder(backup, epochs_done - 1))


def save_state(local: str, model: Any, window: list[list[Any]], stop: Any) -> None:
    """The state Keras' backup leaves out, into ``local`` beside its files."""
    import numpy as np

    weights = {v.path for v in model.weights}
    arrays: dict[str, Any] = {
        f"seed:{v.path}": v.numpy() for v in model.variables if v.path not in weights
    }
    for i, epoch in enumerate(window):
        arrays.update({f"window:{i}:{j}": w for j, w in enumerate(epoch)})
    for j, w in enumerate(stop.best_weights or []):
        arrays[f"best:{j}"] = w
    np.savez(os.path.join(local, STATE), **arrays)
    meta = {"window": len(window), "stop": {k: _plain(getattr(stop, k)) for k in STOP_FIELDS}}
    with open(os.path.join(local, STATE_META), "w") as f:
        json.dump(meta, f)


def _plain(value: Any) -> Any:
    """A number JSON can hold: Keras keeps NumPy scalars, ``item()`` gives Python's own."""
    return value.item() if hasattr(value, "item") else value


# what EarlyStopping (and glasses' subclass of it) decides from
STOP_FIELDS = ("wait", "best", "best_epoch", "stopped_epoch", "best_loss", "top")


def stopped(local: str) -> bool:
    """Whether early stopping had already ended the run whose state ``local`` holds (killed
    after its last epoch's commit, before its outputs): a resumed run must train no further."""
    if not os.path.exists(os.path.join(local, STATE_META)):
        return False
    with open(os.path.join(local, STATE_META)) as f:
        return bool(json.load(f)["stop"]["stopped_epoch"])


def load_state(local: str, model: Any, stop: Any) -> list[list[Any]]:
    """Put the saved state back (after Keras' backup restored the weights and the optimiser,
    and after early stopping reset itself), and return the averaging window; an empty window
    when there is nothing to resume."""
    import numpy as np

    if not os.path.exists(os.path.join(local, STATE_META)):
        return []
    with open(os.path.join(local, STATE_META)) as f:
        meta = json.load(f)
    with np.load(os.path.join(local, STATE)) as saved:
        arrays = dict(saved)
    for v in model.variables:
        if f"seed:{v.path}" in arrays:
            v.assign(arrays[f"seed:{v.path}"])
    for name, value in meta["stop"].items():
        setattr(stop, name, value)
    best = sorted((k for k in arrays if k.startswith("best:")), key=lambda k: int(k[5:]))
    stop.best_weights = [arrays[k] for k in best] or None
    count = len(model.get_weights())
    return [[arrays[f"window:{i}:{j}"] for j in range(count)] for i in range(meta["window"])]
