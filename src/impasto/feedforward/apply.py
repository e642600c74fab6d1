"""Applying trained feed-forward stylisation networks.

* :func:`stylize_arrays` stylises images of any size (same-sized images are
  batched) with PyTorch or, on the CPU, onnxruntime, optionally keeping the photo's colours (luminance transfer:
  the network's luminance with the photo's I and Q, :mod:`impasto.color`).
* :func:`stylize_files` does the same for files and folders, writing one output
  per input; every input and output path is checked before any compute.

Loading a network (:func:`load_model`, :class:`FeedForwardModel`, the shipped models) is
:mod:`impasto.feedforward.model`; exporting it :mod:`impasto.feedforward.export`. Their names
are importable from here too, as before.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TypedDict, Unpack

import numpy as np
import torch
from torch import Tensor

from ..errors import InputError
from ..progress import Callback, Progress
from .export import export_model, export_onnx, onnx_session
from .model import MODEL_KIND, TRAIN_KIND, FastModel, FeedForwardModel, load_model, resolve_model_path, shipped_models

log = logging.getLogger(__name__)

MIN_SIDE = 8  # the smallest image the network's padding accepts after two halvings


def _autocast(device: torch.device, precision: str) -> Any:
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def stylize_tensor(model: FeedForwardModel, batch: Tensor, *, precision: str = "fp32") -> Tensor:
    """(B, 3, H, W) in [0, 1] -> stylised (B, 3, H, W) float32 in [0, 1]; no gradients."""
    if batch.ndim != 4 or batch.shape[1] != 3:
        raise InputError(f"expected images of shape (B, 3, H, W), got {tuple(batch.shape)}")
    if min(batch.shape[-2:]) < MIN_SIDE:
        raise InputError(f"images must be at least {MIN_SIDE} px on each side; got {tuple(batch.shape[-2:])}")
    with torch.inference_mode(), _autocast(batch.device, precision):
        x = batch.contiguous(memory_format=torch.channels_last) if precision == "bf16" else batch
        return model.inference_net(x).float().clamp_(0, 1).contiguous()


def _prepare(model: FeedForwardModel, precision: str, device: torch.device) -> str:
    from ..device import resolve_precision

    precision = resolve_precision(precision, device)
    if precision == "bf16":  # NHWC: what oneDNN's bf16 kernels want on the CPU
        model.inference_net.to(memory_format=torch.channels_last)
    return precision


def stylize_arrays(
    images: Sequence[np.ndarray],
    model: str | os.PathLike[str] | FeedForwardModel = "starry-night",
    *,
    preserve_color: bool = False,
    max_size: int | None = None,
    batch_size: int = 4,
    device: str = "auto",
    precision: str = "fp32",
    engine: str = "torch",
    callback: Callback | None = None,
) -> list[np.ndarray]:
    """Stylise float (H, W, 3) [0, 1] arrays of any size; returns arrays of the same sizes.

    Images of equal size go through the network together, ``batch_size`` at a time.
    ``max_size`` shrinks images whose long side is larger first (the result then has the
    shrunk size). ``preserve_color`` keeps each photo's colours (YIQ luminance transfer).
    ``precision`` ``"bf16"`` (or ``"auto"`` where the hardware has native bf16) runs the
    network under bf16 autocast with channels-last tensors. ``engine`` ``"onnxruntime"`` runs
    the network's ONNX form under onnxruntime on the CPU instead of PyTorch (fp32; faster on
    many CPUs, see the README); ``"auto"`` picks it on the CPU in fp32 when onnxruntime is
    installed. ``callback`` receives a :class:`~impasto.progress.Progress` (stage ``"stylize"``)
    per image, after its batch.
    """
    from ..color import recombine_luminance
    from ..device import resolve_device
    from ..transforms import resize_long_side, to_array, to_tensor

    if batch_size < 1:
        raise InputError(f"batch_size must be >= 1; got {batch_size}")
    if max_size is not None and max_size < MIN_SIDE:
        raise InputError(f"max_size must be >= {MIN_SIDE}; got {max_size}")
    dev = resolve_device(device)
    fast = load_model(model, dev)
    precision = _prepare(fast, precision, dev)
    engine = _resolve_engine(engine, dev, precision)
    inputs = []
    for i, arr in enumerate(images):
        arr = np.asarray(arr, dtype=np.float32)
        if arr.ndim != 3 or arr.shape[2] != 3:
            raise InputError(f"image {i}: expected shape (H, W, 3), got {arr.shape}")
        if min(arr.shape[:2]) < MIN_SIDE:
            raise InputError(f"image {i} is {arr.shape[1]}x{arr.shape[0]}; needs at least {MIN_SIDE} px a side")
        if max_size is not None and max(arr.shape[:2]) > max_size:
            arr = to_array(resize_long_side(to_tensor(arr), max_size))
        inputs.append(arr)
    groups: dict[tuple[int, int], list[int]] = {}
    for i, arr in enumerate(inputs):
        groups.setdefault(arr.shape[:2], []).append(i)
    results: list[np.ndarray | None] = [None] * len(inputs)
    done = 0
    for indices in groups.values():
        for start in range(0, len(indices), batch_size):
            chunk = indices[start : start + batch_size]
            if engine == "onnxruntime":
                batch_np = np.stack([inputs[i].transpose(2, 0, 1) for i in chunk]).astype(np.float32)
                out = onnx_session(fast).run(None, {"image": batch_np})[0].transpose(0, 2, 3, 1)
            else:
                batch = torch.cat([to_tensor(inputs[i], dev) for i in chunk])
                out = stylize_tensor(fast, batch, precision=precision).permute(0, 2, 3, 1).cpu().numpy()
            for j, i in enumerate(chunk):
                results[i] = recombine_luminance(out[j], inputs[i]) if preserve_color else out[j]
            for _ in chunk:
                done += 1
                if callback is not None:
                    callback(Progress("stylize", done, len(inputs)))
    return [r for r in results if r is not None]


ENGINES = ("torch", "onnxruntime", "auto")


def _resolve_engine(engine: str, device: torch.device, precision: str) -> str:
    if engine not in ENGINES:
        raise InputError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
    if engine == "auto":
        import importlib.util

        usable = device.type == "cpu" and precision == "fp32" and importlib.util.find_spec("onnxruntime") is not None
        return "onnxruntime" if usable else "torch"
    if engine == "onnxruntime" and (device.type != "cpu" or precision != "fp32"):
        raise InputError(
            "engine 'onnxruntime' runs on the CPU in fp32; use engine 'torch' for "
            f"device {device.type} / precision {precision}"
        )
    return engine


class ApplyOptions(TypedDict, total=False):
    """The keyword options of :func:`stylize_arrays` (see it for each and its default) that
    :func:`stylize_files` passes on to it."""

    preserve_color: bool
    max_size: int | None
    batch_size: int
    device: str
    precision: str
    engine: str


def stylize_files(
    inputs: Iterable[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    model: str | os.PathLike[str] | FeedForwardModel = "starry-night",
    *,
    suffix: str | None = None,
    callback: Callback | None = None,
    fail_fast: bool = False,
    **options: Unpack[ApplyOptions],
) -> list[Path]:
    """Stylise image files and folders into ``output`` (a file for one input, else a folder); returns the paths.

    The model, every input and every output path are checked before any image is stylised (an
    output that is an input is refused); images are read and written one batch at a time, so
    folders of any length fit in memory. A file that cannot be read is skipped and the others are
    stylised; at the end :class:`impasto.io.files.BatchError` lists the failures (``fail_fast``:
    stop at the first). ``callback`` receives a :class:`~impasto.progress.Progress` (stage
    ``"stylize"``, ``item`` the input file) per file, after its batch. ``options``
    (:class:`ApplyOptions`) go to :func:`stylize_arrays`, whose defaults apply; ``batch_size`` is
    also how many files are read and written at a time.
    """
    from ..io import load_image, write_image
    from ..io.files import Batch, expand_inputs, output_paths

    unknown = sorted(options.keys() - ApplyOptions.__optional_keys__)
    if unknown:
        raise TypeError(f"stylize_files() got unexpected keyword arguments: {', '.join(unknown)}")
    batch_size, device = options.get("batch_size", 4), options.get("device", "auto")  # stylize_arrays's defaults
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(f"batch_size must be an integer >= 1; got {batch_size!r}")
    inputs = list(inputs)
    files = expand_inputs(inputs)
    targets = output_paths(files, output, suffix, sources=inputs)
    from ..device import resolve_device

    fast = load_model(model, resolve_device(device))
    total = len(files)
    batch = Batch(fail_fast=fail_fast or len(files) == 1)  # one file: its own error, at once
    for start in range(0, total, batch_size):
        chunk = list(range(start, min(start + batch_size, total)))
        loaded = [(i, batch.attempt(files[i], lambda f=files[i]: load_image(f, f"input {f}"))) for i in chunk]
        chunk = [i for i, array in loaded if array is not None]
        outs = stylize_arrays([array for _, array in loaded if array is not None], fast, **options) if chunk else []
        for i, out in zip(chunk, outs):
            batch.write(
                files[i],
                targets[i],
                lambda path, out=out: write_image(
                    path, out, metadata={"Software": "impasto", "impasto:model": fast.name}
                ),
            )
        if callback is not None:
            for i in range(start, min(start + batch_size, total)):
                callback(Progress("stylize", i + 1, total, item=str(files[i])))
    return batch.finish()


__all__ = [
    "ENGINES",
    "MIN_SIDE",
    "MODEL_KIND",
    "TRAIN_KIND",
    "FastModel",
    "FeedForwardModel",
    "export_model",
    "export_onnx",
    "load_model",
    "resolve_model_path",
    "shipped_models",
    "stylize_arrays",
    "stylize_files",
    "stylize_tensor",
]
