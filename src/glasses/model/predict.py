"""The one way evaluate and score turn uint8 faces into probabilities: same model file, same
call, so the numbers evaluate reports are the numbers score produces."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from glasses import defaults, storage
from glasses.artifacts import MODEL_FILE
from glasses.errors import InputError


class Predictor:
    """A trained model loaded from ``MODEL/model.keras`` (local or gs://)."""

    def __init__(self, model_dir: str) -> None:
        uri = storage.join(model_dir, MODEL_FILE)
        try:
            data = storage.read_bytes(uri)
        except FileNotFoundError as err:
            raise InputError(f"{uri} not found: is {model_dir} a model train wrote?") from err
        # names the exact weights: score's resumable parts are only reused for the same model
        self.digest = hashlib.sha256(data).hexdigest()
        import keras

        try:  # Keras loads from a local file: a gs:// model is cached by its digest
            local = storage.cached_copy(uri, self.digest)
            self.model: Any = keras.models.load_model(local, compile=False)
        except (ValueError, OSError) as err:
            raise InputError(f"{uri}: not a loadable Keras model ({err})") from err
        self.uri = model_dir
        shape = self.model.input_shape
        self.resolution = int(shape[1])
        self._call: Any = None

    def predict(self, images: np.ndarray) -> np.ndarray:
        """uint8 [N, R, R, 3] -> float32 [N] probability of glasses."""
        if images.ndim != 4 or images.shape[1:] != (self.resolution, self.resolution, 3):
            raise InputError(
                f"images of shape {images.shape[1:]} do not fit a model for "
                f"{self.resolution}x{self.resolution} RGB"
            )
        if not len(images):
            return np.zeros(0, np.float32)
        if self._call is None:
            import tensorflow as tf

            model = self.model
            # one trace for every batch size (a part's last batch is shorter): no retracing
            spec = tf.TensorSpec([None, self.resolution, self.resolution, 3], tf.uint8)

            def call(images: Any) -> Any:
                return model(images, training=False)

            self._call = tf.function(call, input_signature=[spec], autograph=False)
        out = self._call(images.astype(np.uint8, copy=False))
        return np.asarray(out, dtype=np.float32).reshape(-1)

    def feature_maps(self, image: np.ndarray) -> list[tuple[str, np.ndarray]]:
        """Each convolution block's activations for one face: [(layer name, [H, W, C])]."""
        import keras

        convs = [layer for layer in self.model.layers if layer.name.startswith("conv")]
        probe = keras.Model(self.model.inputs[0], [layer.output for layer in convs])
        outs = probe(image[None], training=False)
        outs = outs if isinstance(outs, list | tuple) else [outs]
        return [(layer.name, np.asarray(o)[0]) for layer, o in zip(convs, outs, strict=True)]


def probabilities(model: Any, images: Any, batch: int = defaults.BATCH_SIZE) -> np.ndarray:
    """A model in training's probabilities for uint8 images (an array, or a dataset of
    (images, labels) batches), called eagerly: ``model.predict`` traces a graph for every new
    model and batch shape, which is wasted on a few hundred faces, and the audit's and the
    noise estimate's new model per fold or epoch made TensorFlow warn of retracing."""
    if isinstance(images, np.ndarray):
        batches = [images[i : i + batch] for i in range(0, len(images), batch)]
    else:
        batches = [np.asarray(x) for x, _ in images]
    out = [np.asarray(model(b, training=False), dtype=np.float32).reshape(-1) for b in batches]
    return np.concatenate(out) if out else np.zeros(0, np.float32)
