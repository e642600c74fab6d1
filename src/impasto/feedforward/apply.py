"""Applying trained feed-forward stylisation networks: load, stylise, export.

* :func:`load_model` takes a training checkpoint (``checkpoint.pt`` of
  ``impasto fast train``), an exported model file, or the name of a model
  shipped inside the package (``"starry-night"``; see :func:`shipped_models`).
* :func:`stylize_arrays` stylises images of any size (same-sized images are
  batched) with PyTorch or, on the CPU, onnxruntime, optionally keeping the photo's colours (luminance transfer:
  the network's luminance with the photo's I and Q, :mod:`impasto.color`).
* :func:`stylize_files` does the same for files and folders, writing one output
  per input; every input and output path is checked before any compute.
* :func:`export_model` writes a small inference-only model (fp16 weights,
  architecture and training config; the format of the shipped models), and
  :func:`export_onnx` an ONNX graph with dynamic batch and image size that
  clamps its output to [0, 1].
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from ..errors import InputError
from ..progress import Callback, Progress

log = logging.getLogger(__name__)

MODEL_KIND = "fast-model"  # an exported inference-only model
TRAIN_KIND = "fast"  # a training checkpoint
MIN_SIDE = 8  # the smallest image the network's padding accepts after two halvings
_SHIPPED_SUFFIX = ".pt"


@dataclass
class FastModel:
    """A loaded feed-forward network plus what is known about how it was trained."""

    net: nn.Module
    name: str
    arch: str
    arch_kwargs: dict[str, Any]
    config: dict[str, Any] = field(default_factory=dict)
    step: int = 0
    info: dict[str, Any] = field(default_factory=dict)
    onnx_path: Path | None = None  # a shipped ONNX twin of the network, if any
    _session: Any = field(default=None, repr=False)
    _inference: nn.Module | None = field(default=None, repr=False)

    def __call__(self, batch: Tensor) -> Tensor:
        return self.inference_net(batch)

    @property
    def inference_net(self) -> nn.Module:
        """The network rewritten for inference (:func:`impasto.nets.inference.for_inference`: the same
        function, faster), made on first use; ``net`` itself stays as trained and saved."""
        if self._inference is None:
            from ..nets.inference import for_inference

            self._inference = for_inference(self.net)
        return self._inference

    def onnx_session(self) -> Any:
        """An onnxruntime CPU session for this network (the shipped ``.onnx`` twin, or exported once now)."""
        if self._session is None:
            try:
                import onnxruntime as ort
            except ImportError:
                raise InputError("engine 'onnxruntime' needs onnxruntime: pip install 'impasto[onnx]'") from None
            import tempfile

            opts = ort.SessionOptions()
            opts.log_severity_level = 3
            if self.onnx_path is not None:
                self._session = ort.InferenceSession(str(self.onnx_path), opts, providers=["CPUExecutionProvider"])
            else:
                with tempfile.TemporaryDirectory() as tmp:
                    path = export_onnx(self, Path(tmp) / "model.onnx", check_onnx=False)
                    self._session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        return self._session


def _models_dir() -> Path:
    return Path(str(resources.files("impasto") / "models"))


def shipped_models() -> list[str]:
    """Names of the models inside the package (``impasto/models/<name>.pt``)."""
    folder = _models_dir()
    if not folder.is_dir():
        return []
    return sorted(p.name[: -len(_SHIPPED_SUFFIX)] for p in folder.iterdir() if p.name.endswith(_SHIPPED_SUFFIX))


def resolve_model_path(model: str | os.PathLike[str]) -> Path:
    """A path as given if it is a file, else the shipped model of that name; one-line error otherwise."""
    path = Path(model)
    if path.is_file():
        return path
    shipped = _models_dir() / f"{model}{_SHIPPED_SUFFIX}"
    if isinstance(model, str) and shipped.is_file():
        return shipped
    names = ", ".join(shipped_models()) or "none"
    raise InputError(f"model {str(model)!r} is neither a file nor a shipped model (shipped: {names})")


def load_model(model: str | os.PathLike[str] | FastModel, device: str | torch.device = "cpu") -> FastModel:
    """Load a training checkpoint, an exported model or a shipped model by name; eval mode, on ``device``."""
    from ..train.checkpoint import load_checkpoint, load_net

    if isinstance(model, FastModel):
        model.net.to(device)
        if model._inference is not None:
            model._inference.to(device)
        return model
    path = resolve_model_path(model)
    data = load_checkpoint(path)
    if data.get("kind") not in (TRAIN_KIND, MODEL_KIND) or "net" not in data.get("nets", {}):
        raise InputError(f"{path} holds a {data.get('kind')!r} model, not a feed-forward stylisation network")
    entry = data["nets"]["net"]
    net = load_net(entry).to(device).eval().requires_grad_(False)
    shipped = path.parent == _models_dir()
    name = path.name[: -len(_SHIPPED_SUFFIX)] if shipped else str(path)
    twin = path.with_suffix(".onnx")
    return FastModel(net, name, entry["arch"], dict(entry.get("kwargs", {})), dict(data.get("config", {})),
                     int(data.get("step", 0)), dict(data.get("extra", {}).get("info", {})),
                     onnx_path=twin if shipped and twin.is_file() else None)


def _autocast(device: torch.device, precision: str) -> Any:
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def stylize_tensor(model: FastModel, batch: Tensor, *, precision: str = "fp32") -> Tensor:
    """(B, 3, H, W) in [0, 1] -> stylised (B, 3, H, W) float32 in [0, 1]; no gradients."""
    if batch.ndim != 4 or batch.shape[1] != 3:
        raise InputError(f"expected images of shape (B, 3, H, W), got {tuple(batch.shape)}")
    if min(batch.shape[-2:]) < MIN_SIDE:
        raise InputError(f"images must be at least {MIN_SIDE} px on each side; got {tuple(batch.shape[-2:])}")
    with torch.inference_mode(), _autocast(batch.device, precision):
        x = batch.contiguous(memory_format=torch.channels_last) if precision == "bf16" else batch
        return model.inference_net(x).float().clamp_(0, 1).contiguous()


def _prepare(model: FastModel, precision: str, device: torch.device) -> str:
    from ..device import resolve_precision

    precision = resolve_precision(precision, device)
    if precision == "bf16":  # NHWC: what oneDNN's bf16 kernels want on the CPU
        model.inference_net.to(memory_format=torch.channels_last)
    return precision


def stylize_arrays(images: Sequence[np.ndarray], model: str | os.PathLike[str] | FastModel = "starry-night", *,
                   preserve_color: bool = False, max_size: int | None = None, batch_size: int = 4,
                   device: str = "auto", precision: str = "fp32", engine: str = "torch",
                   callback: Callback | None = None) -> list[np.ndarray]:
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
            chunk = indices[start:start + batch_size]
            if engine == "onnxruntime":
                batch_np = np.stack([inputs[i].transpose(2, 0, 1) for i in chunk]).astype(np.float32)
                out = fast.onnx_session().run(None, {"image": batch_np})[0].transpose(0, 2, 3, 1)
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
        raise InputError("engine 'onnxruntime' runs on the CPU in fp32; use engine 'torch' for "
                         f"device {device.type} / precision {precision}")
    return engine


def stylize_files(inputs: Iterable[str | os.PathLike[str]], output: str | os.PathLike[str],
                  model: str | os.PathLike[str] | FastModel = "starry-night", *, preserve_color: bool = False,
                  max_size: int | None = None, batch_size: int = 4, device: str = "auto", precision: str = "fp32",
                  engine: str = "torch", suffix: str | None = None,
                  callback: Callback | None = None, fail_fast: bool = False) -> list[Path]:
    """Stylise image files and folders into ``output`` (a file for one input, else a folder); returns the paths.

    The model, every input and every output path are checked before any image is stylised (an
    output that is an input is refused); images are read and written one batch at a time, so
    folders of any length fit in memory. A file that cannot be read is skipped and the others are
    stylised; at the end :class:`impasto.io.files.BatchError` lists the failures (``fail_fast``:
    stop at the first). ``callback`` receives a :class:`~impasto.progress.Progress` (stage
    ``"stylize"``, ``item`` the input file) per file, after its batch.
    """
    from ..io import load_image
    from ..io import write_image

    from ..io.files import Batch, expand_inputs, output_paths

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
        outs = stylize_arrays([array for _, array in loaded if array is not None], fast,
                              preserve_color=preserve_color, max_size=max_size, batch_size=batch_size,
                              device=device, precision=precision, engine=engine) if chunk else []
        for i, out in zip(chunk, outs):
            batch.write(files[i], targets[i], lambda path, out=out: write_image(
                path, out, metadata={"Software": "impasto", "impasto:model": fast.name}))
        if callback is not None:
            for i in range(start, min(start + batch_size, total)):
                callback(Progress("stylize", i + 1, total, item=str(files[i])))
    return batch.finish()


def export_model(model: str | os.PathLike[str] | FastModel, path: str | os.PathLike[str], *,
                 half: bool = True, info: dict[str, Any] | None = None) -> Path:
    """Write an inference-only model file (weights in fp16 when ``half``), loadable by :func:`load_model`."""
    from ..train.checkpoint import net_entry, save_checkpoint

    fast = load_model(model)
    entry = net_entry(fast.arch, fast.arch_kwargs, fast.net)
    if half:
        entry["state"] = {k: v.half() if v.is_floating_point() else v for k, v in entry["state"].items()}
    payload = {"kind": MODEL_KIND, "nets": {"net": entry}, "step": fast.step, "config": fast.config,
               "extra": {"info": dict(info or fast.info)}}
    return save_checkpoint(path, payload)


class _Clamped(nn.Module):
    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).clamp(0, 1)


def export_onnx(model: str | os.PathLike[str] | FastModel, path: str | os.PathLike[str], *,
                opset: int = 17, check_onnx: bool = True) -> Path:
    """Export to ONNX: input ``image`` (B, 3, H, W) float32 RGB in [0, 1], output ``stylized`` the same,
    with batch, height and width dynamic. Needs the ``onnx`` package (``pip install impasto[onnx]``)."""
    import warnings

    from ..io.atomic import atomic_path

    path = Path(path)
    if path.suffix.lower() != ".onnx":
        raise InputError(f"ONNX export needs a .onnx file name; got {path}")
    if not path.parent.is_dir():
        raise InputError(f"cannot write {path}: folder {path.parent} does not exist")
    if check_onnx:
        try:
            import onnx  # to check the file; the TorchScript-based exporter itself does not need it
        except ImportError:
            raise InputError("ONNX export needs the onnx package: pip install 'impasto[onnx]'") from None
    fast = load_model(model)
    wrapped = _Clamped(fast.inference_net).eval()
    with atomic_path(path) as tmp:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer chatter about instance norm and shapes
            torch.onnx.export(wrapped, (torch.rand(1, 3, 64, 64),), str(tmp), dynamo=False,
                              input_names=["image"], output_names=["stylized"], opset_version=opset,
                              dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"},
                                            "stylized": {0: "batch", 2: "height", 3: "width"}})
        if check_onnx:
            onnx.checker.check_model(str(tmp))
    return path
