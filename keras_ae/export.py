"""SavedModel export and inference loading.

``export_model`` writes ``<dir>/`` as a TensorFlow SavedModel whose endpoints come from the
model's ``export_endpoints()`` (``encode``, ``decode``, ``reconstruct``; ``generate`` for
generative models), plus ``model.keras`` (to resume training) and ``metadata.json``.

Every endpoint is also a signature, and every endpoint returns a dict whose keys name its
outputs (``saved_model_cli show --all --dir DIR`` lists them; ``keras-ae info`` too):
``encode`` -> ``codes``, ``decode`` / ``reconstruct`` -> ``reconstruction``, ``generate`` ->
``images``, ``encode_distribution`` -> ``mean``, ``log_var``, ``classify`` -> ``probabilities``,
``predict_class`` -> ``classes``, ``discriminate`` -> ``probabilities``, ``compress_image`` ->
``codes``, ``decompress_image`` -> ``images``, ``quantize`` -> ``indices``, ``dequantize`` ->
``codes``. Loading needs no keras_ae code::

    m = tf.saved_model.load(dir); m.reconstruct(x)["reconstruction"]
    keras.layers.TFSMLayer(dir, call_endpoint="reconstruct")(x)["reconstruction"]

and every export converts to TFLite with the stock converter, all signatures at once::

    converter = tf.lite.TFLiteConverter.from_saved_model(dir, signature_keys=list(m.signatures))
    runner = tf.lite.Interpreter(model_content=converter.convert()).get_signature_runner("encode")
    runner(x=x)["codes"]

:class:`InferenceModel` adds shape checks and batching on top for the ``keras-ae`` command.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from keras_ae.errors import DataError, ModelLoadError
from keras_ae.io import read_json, write_json

__all__ = ["InferenceModel", "export_model", "load_keras_model", "read_metadata"]

METADATA_FILE = "metadata.json"
KERAS_FILE = "model.keras"

# Endpoints whose input is an image (pixels in the model's ``value_range``); every other
# endpoint (decode, generate, decompress_image, ...) takes codes or noise, never rescaled.
PIXEL_ENDPOINTS = ("encode", "encode_distribution", "reconstruct", "classify", "predict_class", "discriminate",
                   "compress_image")


TMP_SUFFIX, OLD_SUFFIX = ".tmp-export", ".old-export"


def export_model(model, directory: str | os.PathLike, metadata: dict | None = None,
                 save_keras: bool = True) -> Path:
    """Export ``model`` to ``directory``, replacing an earlier export whole.

    The new export is written to ``<name>.tmp-export`` beside it (``metadata.json`` last, so a
    folder with it is complete); then the old folder is renamed to ``<name>.old-export``, the new
    one to ``<name>``, and the old one removed. A failure, or a kill, before the renames leaves the
    old export as it was; a kill between the two renames leaves no ``<name>`` for that instant,
    and the next export or load (:func:`recover_interrupted_export`) puts the complete new
    folder in place.
    """
    import keras

    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    recover_interrupted_export(directory)
    tmp = directory.with_name(directory.name + TMP_SUFFIX)
    shutil.rmtree(tmp, ignore_errors=True)
    endpoints = model.export_endpoints()
    archive = keras.export.ExportArchive()
    archive.track(model)
    outputs = {}
    for name, (fn, signature) in endpoints.items():
        traced = archive.add_endpoint(name=name, fn=fn, input_signature=signature)
        outputs[name] = _output_specs(traced.get_concrete_function().structured_outputs)
    archive.write_out(str(tmp), verbose=False)
    if save_keras:
        model.save(tmp / KERAS_FILE)
    info = {
        "name": model.name,
        "class": type(model).__name__,
        "endpoints": {
            name: {"input_shape": _shape(sig[0].shape), "outputs": outputs[name]}
            for name, (_, sig) in endpoints.items()
        },
        **(metadata or {}),
    }
    write_json(info, tmp / METADATA_FILE)  # last: its presence marks the folder complete
    if directory.exists():
        old = directory.with_name(directory.name + OLD_SUFFIX)
        shutil.rmtree(old, ignore_errors=True)
        os.replace(directory, old)
        os.replace(tmp, directory)  # a kill just before this: recover_interrupted_export finishes it
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, directory)
    return directory


def recover_interrupted_export(directory: str | os.PathLike) -> bool:
    """Finish an export swap that a kill interrupted between its two renames; True if it did.

    ``<name>`` missing with ``<name>.old-export`` present means the kill came after the old folder
    was moved aside: the new folder ``<name>.tmp-export`` is complete then (its ``metadata.json``
    is written before any rename) and is put in place; if it is not there or not complete, the
    old one is put back. A leftover ``.old-export`` beside a present ``<name>`` is removed.
    """
    directory = Path(directory)
    old = directory.with_name(directory.name + OLD_SUFFIX)
    tmp = directory.with_name(directory.name + TMP_SUFFIX)
    if not old.is_dir():
        return False
    if directory.exists():
        shutil.rmtree(old, ignore_errors=True)
        return False
    complete = (tmp / "saved_model.pb").is_file() and (tmp / METADATA_FILE).is_file()
    os.replace(tmp if complete else old, directory)
    shutil.rmtree(old, ignore_errors=True)
    return True


def _shape(shape) -> list:
    return [None if d is None else int(d) for d in shape]


def _output_specs(structured_outputs) -> dict:
    """``{name: {"shape": [...], "dtype": "float32"}}`` of an endpoint's dict of outputs, by name
    (a loaded SavedModel does not keep the order the function returned them in)."""
    if not isinstance(structured_outputs, dict):
        raise TypeError("export_endpoints() functions must return a dict {output name: tensor} "
                        f"(the signature's output names), got {type(structured_outputs).__name__}")
    return {key: {"shape": _shape(t.shape), "dtype": t.dtype.name} for key, t in sorted(structured_outputs.items())}


def check_saved_model_dir(path: str | os.PathLike) -> Path:
    """Raise :class:`ModelLoadError` unless ``path`` is a SavedModel folder (after finishing an
    export that a kill interrupted there: :func:`recover_interrupted_export`)."""
    path = Path(path)
    recover_interrupted_export(path)
    if not path.exists():
        raise ModelLoadError(f"model path {path} does not exist")
    if not path.is_dir():
        raise ModelLoadError(f"model path {path} is a file, not a SavedModel folder "
                             "(expected a folder holding saved_model.pb and variables/)")
    if not (path / "saved_model.pb").is_file():
        raise ModelLoadError(f"{path} is not a SavedModel: no saved_model.pb in it "
                             "(export one with keras_ae.export.export_model)")
    return path


class InferenceModel:
    """An exported model loaded with ``tf.saved_model.load``, called on numpy arrays in batches."""

    def __init__(self, path: str | os.PathLike):
        import tensorflow as tf

        self.path = check_saved_model_dir(path)
        try:
            self.module = tf.saved_model.load(str(self.path))
        except Exception as exc:  # corrupt protobuf, missing variables, ...
            raise ModelLoadError(f"{self.path}: the SavedModel cannot be loaded ({type(exc).__name__}: {exc})") from exc
        self.metadata = read_metadata(self.path)

    @property
    def endpoints(self) -> list[str]:
        """The standard endpoints the model has, then any others its metadata lists
        (``compress_image``, ``classify``, ...)."""
        names = [n for n in ("encode", "decode", "reconstruct", "generate") if hasattr(self.module, n)]
        extra = [n for n in self.metadata.get("endpoints", {}) if n not in names and hasattr(self.module, n)]
        return names + extra

    def input_shape(self, endpoint: str) -> tuple:
        fn = self._endpoint(endpoint)
        spec = fn.concrete_functions[0].structured_input_signature[0][0]
        return tuple(spec.shape[1:])

    def outputs(self, endpoint: str) -> dict:
        """The endpoint's outputs, ``{name: {"shape": [...], "dtype": ...}}`` (an export made before
        outputs had names has one, ``output_0``)."""
        out = self._endpoint(endpoint).concrete_functions[0].structured_outputs
        return _output_specs(out if isinstance(out, dict) else {"output_0": out})

    def describe(self) -> dict:
        """Every endpoint's inputs and outputs (name, shape, dtype), as ``keras-ae info`` prints them."""
        described = {}
        for name in self.endpoints:
            args = self._endpoint(name).concrete_functions[0].structured_input_signature[0]
            described[name] = {"inputs": {spec.name or f"input_{i}": {"shape": _shape(spec.shape),
                                                                       "dtype": spec.dtype.name}
                                          for i, spec in enumerate(args)},
                               "outputs": self.outputs(name)}
        return described

    def _endpoint(self, endpoint: str):
        if endpoint not in self.endpoints:
            raise ModelLoadError(f"{self.path} has no endpoint {endpoint!r}; it has {', '.join(self.endpoints)}")
        return getattr(self.module, endpoint)

    def __call__(self, endpoint: str, x: np.ndarray, batch_size: int = 1024, output: str | None = None) -> np.ndarray:
        """``endpoint`` on ``x`` in batches, after :meth:`prepare_input` (what the command runs)."""
        return self.call_model_space(endpoint, self.prepare_input(endpoint, x), batch_size, output)

    def call_model_space(self, endpoint: str, x: np.ndarray, batch_size: int = 1024,
                         output: str | None = None) -> np.ndarray:
        """``endpoint`` on float values already in the model's own input space, in batches: the
        shape is checked, nothing is scaled or range-checked (for callers that feed computed
        inputs on purpose, such as noisy images reaching past the pixel range).

        Returns the endpoint's output named ``output`` (see :meth:`outputs`); None: its only one."""
        fn = self._endpoint(endpoint)
        names = list(self.outputs(endpoint))
        if output is None:
            if len(names) != 1:
                raise ModelLoadError(f"{endpoint} of {self.path} has the outputs {', '.join(names)}: name one")
            output = names[0]
        elif output not in names:
            raise ModelLoadError(f"{endpoint} of {self.path} has no output {output!r}; it has {', '.join(names)}")
        x = self._check_shape(endpoint, np.asarray(x, dtype=np.float32))
        parts = []
        for i in range(0, len(x), batch_size):
            result = fn(x[i : i + batch_size])
            parts.append(np.asarray(result[output] if isinstance(result, dict) else result))
        return np.concatenate(parts) if parts else np.zeros((0,), np.float32)

    def _check_shape(self, endpoint: str, x: np.ndarray) -> np.ndarray:
        from keras_ae.errors import DataError

        want = self.input_shape(endpoint)
        if x.ndim == len(want) and len(want) > 0:
            x = x[None]  # one sample
        if tuple(x.shape[1:]) != want:
            raise DataError(f"{endpoint} of {self.path} takes arrays of shape (N, {', '.join(map(str, want))}), "
                            f"found {x.shape}")
        return x

    def prepare_input(self, endpoint: str, x: np.ndarray) -> np.ndarray:
        """Check ``x`` against the endpoint's shape and input kind; float32 with a batch axis.

        Pixel endpoints (:data:`PIXEL_ENDPOINTS`): integer pixels of any integer dtype must hold
        0..255 and are scaled to the model's ``value_range`` (metadata.json); float pixels must
        already lie in that range (or in the wider ``input_range`` the metadata gives, as for a
        denoiser's noisy inputs). Other endpoints take codes or noise: cast to float32, never
        rescaled. Every refusal is a :class:`DataError` naming the range and how to scale.
        """
        from keras_ae.data.transforms import VALUE_RANGES, pixels_to_range
        from keras_ae.errors import DataError

        x = self._check_shape(endpoint, np.asarray(x))
        what = f"input to {endpoint} of {self.path}"
        if endpoint in PIXEL_ENDPOINTS:
            value_range = self.metadata.get("value_range")
            if value_range is None:
                if x.dtype.kind in "iu":
                    raise DataError(f"{what}: integer pixels cannot be scaled, the model's {METADATA_FILE} names no "
                                    "value_range; pass float pixels in the range the model was trained on")
            else:
                if value_range not in VALUE_RANGES:
                    raise ModelLoadError(f"{self.path}: {METADATA_FILE} gives value_range {value_range!r}, "
                                         f"expected one of {', '.join(map(repr, VALUE_RANGES))}")
                input_range = self.metadata.get("input_range")
                return pixels_to_range(x, value_range, what, tuple(input_range) if input_range else None)
        if x.dtype.kind not in "iuf":
            raise DataError(f"{what}: expected a numeric array, found dtype {x.dtype}")
        x = x.astype(np.float32)
        if not np.all(np.isfinite(x)):
            raise DataError(f"{what}: holds NaN or infinite values")
        return x


def read_metadata(path: str | os.PathLike) -> dict:
    """An export's ``metadata.json`` as a dict ({} if it has none).

    A corrupt one is a :class:`ModelLoadError` of one line naming the file."""
    meta_path = Path(path) / METADATA_FILE
    try:
        meta = read_json(meta_path, "model metadata", missing_ok=True)
    except DataError as exc:
        raise ModelLoadError(str(exc)) from None
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise ModelLoadError(f"{meta_path}: corrupt model metadata, a JSON {type(meta).__name__} where an object "
                             "was expected; delete it, or export the model again")
    return meta


def load_keras_model(path: str | os.PathLike, compile: bool = True):
    """Load a ``model.keras`` file (or the one inside an export folder) to resume training.

    Imports keras_ae's registered classes first, so custom models and losses deserialise.
    """
    import keras

    import keras_ae.losses  # noqa: F401  (registers the losses)
    import keras_ae.models  # noqa: F401  (registers the models)
    import keras_ae.optimizers  # noqa: F401  (registers the optimizers and schedules)

    path = Path(path)
    recover_interrupted_export(path)
    if path.is_dir():
        path = path / KERAS_FILE
    if not path.is_file():
        raise ModelLoadError(f"no .keras file at {path}")
    return keras.saving.load_model(path, compile=compile)
