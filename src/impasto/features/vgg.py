"""VGG-19 (Simonyan & Zisserman 2014) in plain torch, with named layers.

Layer names follow the papers: conv1_1, relu1_1, conv1_2, relu1_2, pool1, ...,
relu5_4, pool5 (the same order as torchvision's ``vgg19().features``). The net
is built only up to the deepest layer a run needs, is frozen, and
:class:`FeatureExtractor` collects every requested layer in one forward pass.
Pooling is max (as trained) or average (Gatys et al. 2016: "improves the
gradient flow and one obtains slightly more appealing results").
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.utils.checkpoint
from torch import Tensor, nn

from ..errors import InputError
from .layers import LAYER_NAMES, check_layers, layer_hw, layer_stride  # noqa: F401  (the last two re-exported)
from .preprocessing import Normalize
from .weights import VGGWeights, load_weights


class MaxPool2x2(nn.MaxPool2d):
    """``nn.MaxPool2d(2, 2)``; without autograd, on channels-last CPU features, computed as the maximum of the
    four strided views (the same values, 3-4 times faster than the pooling kernel there, which also writes
    the indices: 4 ms against 19 ms for 64 x 512 x 512 in bf16). With autograd it is the pooling kernel,
    whose gradient goes to one element of a tie (zeros after ReLU tie often)."""

    def __init__(self) -> None:
        super().__init__(2, 2)

    def forward(self, x: Tensor) -> Tensor:
        autograd = torch.is_grad_enabled() and x.requires_grad
        nhwc = x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
        if autograd or x.device.type != "cpu" or not nhwc:
            return super().forward(x)
        n, c, h, w = x.shape
        v = x[..., : h // 2 * 2, : w // 2 * 2].permute(0, 2, 3, 1).reshape(n, h // 2, 2, w // 2, 2, c)
        top = torch.maximum(v[:, :, 0, :, 0], v[:, :, 0, :, 1])
        bottom = torch.maximum(v[:, :, 1, :, 0], v[:, :, 1, :, 1])
        return torch.maximum(top, bottom).permute(0, 3, 1, 2)


def make_layer(name: str, in_channels: int, pooling: str) -> tuple[nn.Module, int]:
    """One named VGG layer and the channel count after it."""
    if name.startswith("conv"):
        block = int(name[4])
        out_channels = min(64 * 2 ** (block - 1), 512)
        return nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1), out_channels
    if name.startswith("relu"):
        return nn.ReLU(inplace=False), in_channels
    if pooling == "max":
        return MaxPool2x2(), in_channels
    if pooling == "avg":
        return nn.AvgPool2d(2, 2), in_channels
    raise InputError(f"pooling must be 'max' or 'avg'; got {pooling!r}")


class VGG19(nn.Module):
    """VGG-19 ``features`` truncated after ``last_layer``; modules are attributes named like the layers."""

    def __init__(self, last_layer: str = "pool5", pooling: str = "max") -> None:
        super().__init__()
        if last_layer not in LAYER_NAMES:
            raise InputError(f"unknown VGG-19 layer {last_layer!r}")
        if pooling not in ("max", "avg"):  # checked here too: a net cut before pool1 builds no pool layer
            raise InputError(f"pooling must be 'max' or 'avg'; got {pooling!r}")
        self.layer_names = LAYER_NAMES[: LAYER_NAMES.index(last_layer) + 1]
        channels = 3
        for name in self.layer_names:
            module, channels = make_layer(name, channels, pooling)
            self.add_module(name, module)

    def load_vgg_weights(self, weights: VGGWeights) -> VGG19:
        present = {k: v for k, v in weights.state_dict.items() if k.split(".")[0] in self.layer_names}
        self.load_state_dict(present, strict=True)
        return self

    def forward(self, x: Tensor, layers: Iterable[str], recompute: bool = False) -> dict[str, Tensor]:
        """Features of the requested layers. With ``recompute``, the activations between two requested
        layers are recomputed in the backward pass instead of kept (gradient checkpointing: less
        memory, more time)."""
        wanted = set(layers)
        out: dict[str, Tensor] = {}
        segment: list[nn.Module] = []
        for name in self.layer_names:
            segment.append(getattr(self, name))
            if name in wanted:
                x = self._run(segment, x, recompute)
                out[name], segment = x, []
                if len(out) == len(wanted):
                    break
        return out

    @staticmethod
    def _run(segment: list[nn.Module], x: Tensor, recompute: bool) -> Tensor:
        def run(t: Tensor) -> Tensor:
            for module in segment:
                t = module(t)
            return t

        if recompute and x.requires_grad:
            return torch.utils.checkpoint.checkpoint(run, x, use_reentrant=False)
        return run(x)


class FeatureExtractor(nn.Module):
    """[0, 1] RGB images -> {layer: features} for the requested layers, in one pass.

    Example:
        >>> fx = FeatureExtractor(["relu1_1", "relu4_2"])          # doctest: +SKIP
        >>> feats = fx(torch.rand(1, 3, 64, 64))                   # doctest: +SKIP
    """

    def __init__(
        self,
        layers: Iterable[str],
        *,
        pooling: str = "max",
        weights: str | VGGWeights = "embedded",
        channels_last: bool = False,
        recompute: bool = False,
    ) -> None:
        super().__init__()
        self.layers = tuple(dict.fromkeys(layers))
        check_layers(self.layers, "the list of requested VGG layers")
        loaded = weights if isinstance(weights, VGGWeights) else load_weights(weights)
        deepest = max(self.layers, key=LAYER_NAMES.index)
        self.normalize = Normalize(loaded.preprocessing)
        self.net = VGG19(deepest, pooling).load_vgg_weights(loaded)
        for name in self.net.layer_names:  # ReLU in place unless the conv output before it is wanted
            if name.startswith("relu"):
                getattr(self.net, name).inplace = name.replace("relu", "conv") not in self.layers
        self.channels_last = channels_last
        self.recompute = recompute
        if channels_last:  # NHWC: faster convolutions on CPU (oneDNN) and on tensor-core GPUs
            self.net.to(memory_format=torch.channels_last)
        self.requires_grad_(False)
        self.eval()

    def forward(self, image: Tensor) -> dict[str, Tensor]:
        x = self.normalize(image)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.net(x, self.layers, recompute=self.recompute)
