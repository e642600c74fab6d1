"""Writing a feed-forward network out for use elsewhere.

:func:`export_model` writes a small inference-only model (fp16 weights, architecture and
training config; the format of the shipped models), and :func:`export_onnx` an ONNX graph with
dynamic batch and image size that clamps its output to [0, 1]. Both write atomically.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ..errors import InputError
from .model import MODEL_KIND, FeedForwardModel, load_model


def export_model(
    model: str | os.PathLike[str] | FeedForwardModel,
    path: str | os.PathLike[str],
    *,
    half: bool = True,
    info: dict[str, Any] | None = None,
) -> Path:
    """Write an inference-only model file (weights in fp16 when ``half``), loadable by :func:`load_model`."""
    from ..train.checkpoint import net_entry, save_checkpoint

    fast = load_model(model)
    entry = net_entry(fast.arch, fast.arch_kwargs, fast.net)
    if half:
        entry["state"] = {k: v.half() if v.is_floating_point() else v for k, v in entry["state"].items()}
    payload = {
        "kind": MODEL_KIND,
        "nets": {"net": entry},
        "step": fast.step,
        "config": fast.config,
        "extra": {"info": dict(info or fast.info)},
    }
    return save_checkpoint(path, payload)


class _Clamped(nn.Module):
    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).clamp(0, 1)


MIN_OPSET = 10  # opset 9 has no Resize to an output size (tried: the exporter refuses upsample_nearest2d)


def onnx_opsets() -> tuple[int, int]:
    """The lowest and highest ONNX opset that can hold these networks (nearest upsampling to a given
    size needs opset 10) and that the installed torch's TorchScript exporter writes."""
    try:
        from torch.onnx import _constants

        return max(MIN_OPSET, int(_constants.ONNX_MIN_OPSET)), int(_constants.ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET)
    except (ImportError, AttributeError):  # a torch that moved them: the range every recent torch writes
        return MIN_OPSET, 17


def export_onnx(
    model: str | os.PathLike[str] | FeedForwardModel,
    path: str | os.PathLike[str],
    *,
    opset: int = 17,
    check_onnx: bool = True,
) -> Path:
    """Export to ONNX: input ``image`` (B, 3, H, W) float32 RGB in [0, 1], output ``stylized`` the same,
    with batch, height and width dynamic. Needs the ``onnx`` package (``pip install impasto[onnx]``)."""
    import warnings

    from ..io.atomic import atomic_path

    path = Path(path)
    if path.suffix.lower() != ".onnx":
        raise InputError(f"ONNX export needs a .onnx file name; got {path}")
    if not path.parent.is_dir():
        raise InputError(f"cannot write {path}: folder {path.parent} does not exist")
    low, high = onnx_opsets()
    if isinstance(opset, bool) or not isinstance(opset, int) or not low <= opset <= high:
        raise InputError(
            f"opset {opset!r} is out of range: these networks export at opsets {low} to {high} "
            "with this torch (17 by default)"
        )
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
            torch.onnx.export(
                wrapped,
                (torch.rand(1, 3, 64, 64),),
                str(tmp),
                dynamo=False,
                input_names=["image"],
                output_names=["stylized"],
                opset_version=opset,
                dynamic_axes={
                    "image": {0: "batch", 2: "height", 3: "width"},
                    "stylized": {0: "batch", 2: "height", 3: "width"},
                },
            )
        if check_onnx:
            onnx.checker.check_model(str(tmp))
    return path


def onnx_session(model: FeedForwardModel) -> Any:
    """An onnxruntime CPU session for ``model`` (its shipped ``.onnx`` twin, or exported once now), cached on it."""
    if model._session is None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise InputError("engine 'onnxruntime' needs onnxruntime: pip install 'impasto[onnx]'") from None
        import tempfile

        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        if model.onnx_path is not None:
            model._session = ort.InferenceSession(str(model.onnx_path), opts, providers=["CPUExecutionProvider"])
        else:
            with tempfile.TemporaryDirectory() as tmp:
                path = export_onnx(model, Path(tmp) / "model.onnx", check_onnx=False)
                model._session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    return model._session
