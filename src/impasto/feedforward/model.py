"""A trained feed-forward stylisation network as loaded for use: :class:`FeedForwardModel`.

:func:`load_model` takes a training checkpoint (``checkpoint.pt`` of ``impasto fast train``),
an exported model file, or the name of a model shipped inside the package (``"starry-night"``;
see :func:`shipped_models`). Stylising with it is :mod:`impasto.feedforward.apply`, writing
it out again :mod:`impasto.feedforward.export`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ..errors import InputError

MODEL_KIND = "fast-model"  # an exported inference-only model
TRAIN_KIND = "fast"  # a training checkpoint
_SHIPPED_SUFFIX = ".pt"


@dataclass
class FeedForwardModel:
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


def load_model(
    model: str | os.PathLike[str] | FeedForwardModel, device: str | torch.device = "cpu"
) -> FeedForwardModel:
    """Load a training checkpoint, an exported model or a shipped model by name; eval mode, on ``device``."""
    from ..train.checkpoint import load_checkpoint, load_net

    if isinstance(model, FeedForwardModel):
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
    return FeedForwardModel(
        net,
        name,
        entry["arch"],
        dict(entry.get("kwargs", {})),
        dict(data.get("config", {})),
        int(data.get("step", 0)),
        dict(data.get("extra", {}).get("info", {})),
        onnx_path=twin if shipped and twin.is_file() else None,
    )


FastModel = FeedForwardModel  # the former name
