"""CycleGAN networks (Zhu et al. 2017): the ResNet generator and the 70x70 PatchGAN discriminator.

Registered as ``"cyclegan-resnet"`` and ``"patchgan"``. :func:`convert_foreign_generator`
recognises generator state dicts written by other projects and maps them onto
:class:`ResnetGenerator`:

* pytorch-CycleGAN-and-pix2pix (``latest_net_G_A.pth``): keys ``model.N.*`` with
  residual blocks ``model.N.conv_block.K.*``, instance norm without affine
  parameters (very old files carry unused ``running_mean``/``running_var``);
* the ``vintagify`` package (``G_A2B_epoch33.pth``): the same layer order, blocks
  ``model.N.block.K.*`` and instance norm *with* affine parameters.

The generator is written with its own layers here rather than from
:mod:`impasto.nets.blocks` (the Johnson network's blocks) because the reference
layout differs from them where it matters for loading foreign weights exactly:
its downsampling convolutions zero-pad (``padding=1``) instead of reflecting,
it upsamples with transposed convolutions (``output_padding=1``) instead of
resize-then-convolve, and its instance norm has no affine parameters. Each
layer below sits where its counterpart sits in the reference's ``nn.Sequential``
so the key mapping is a pure renaming (see ``_reference_index``); its
convolutions keep their biases before the instance norm, as the reference's do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import WeightsError
from .blocks import ReflectionPad
from .registry import register_net

__all__ = ["ResnetGenerator", "PatchDiscriminator", "convert_foreign_generator", "init_weights"]


def _norm(channels: int, affine: bool) -> nn.InstanceNorm2d:
    return nn.InstanceNorm2d(channels, affine=affine, track_running_stats=False)


class ResnetBlock(nn.Module):
    """x + [reflect-pad 1, conv 3x3, IN, ReLU, reflect-pad 1, conv 3x3, IN](x)."""

    def __init__(self, channels: int, affine: bool = False) -> None:
        super().__init__()
        self.body = nn.Sequential(
            ReflectionPad(1),
            nn.Conv2d(channels, channels, 3),
            _norm(channels, affine),
            nn.ReLU(True),
            ReflectionPad(1),
            nn.Conv2d(channels, channels, 3),
            _norm(channels, affine),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """The CycleGAN generator: c7s1-ngf, d(2ngf), d(4ngf), ``n_blocks`` x R(4ngf), u(2ngf), u(ngf), c7s1-3, tanh.

    Takes and returns images in [-1, 1], shape (B, C, H, W), of any size: the
    input is reflect-padded to a multiple of 4 (two stride-2 stages) and at least
    8 (the residual blocks' reflection padding needs 2 px at quarter size), and
    the output is cropped back, so it always has the input's size.
    """

    def __init__(
        self, in_channels: int = 3, out_channels: int = 3, ngf: int = 64, n_blocks: int = 9, affine: bool = False
    ) -> None:
        super().__init__()
        if n_blocks < 1 or ngf < 1:
            raise ValueError(f"n_blocks and ngf must be >= 1; got {n_blocks}, {ngf}")
        self.stem = nn.Sequential(ReflectionPad(3), nn.Conv2d(in_channels, ngf, 7), _norm(ngf, affine), nn.ReLU(True))
        self.down = nn.Sequential(
            nn.Conv2d(ngf, 2 * ngf, 3, stride=2, padding=1),
            _norm(2 * ngf, affine),
            nn.ReLU(True),
            nn.Conv2d(2 * ngf, 4 * ngf, 3, stride=2, padding=1),
            _norm(4 * ngf, affine),
            nn.ReLU(True),
        )
        self.blocks = nn.Sequential(*[ResnetBlock(4 * ngf, affine) for _ in range(n_blocks)])
        self.up = nn.Sequential(
            nn.ConvTranspose2d(4 * ngf, 2 * ngf, 3, stride=2, padding=1, output_padding=1),
            _norm(2 * ngf, affine),
            nn.ReLU(True),
            nn.ConvTranspose2d(2 * ngf, ngf, 3, stride=2, padding=1, output_padding=1),
            _norm(ngf, affine),
            nn.ReLU(True),
        )
        self.head = nn.Sequential(ReflectionPad(3), nn.Conv2d(ngf, out_channels, 7), nn.Tanh())

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        pad_h, pad_w = max(8, h + -h % 4) - h, max(8, w + -w % 4) - w
        if pad_h or pad_w:
            mode = "reflect" if min(h, w) > max(pad_h, pad_w) else "replicate"
            x = F.pad(x, (0, pad_w, 0, pad_h), mode=mode)
        y = self.head(self.up(self.blocks(self.down(self.stem(x)))))
        return y[..., :h, :w]


class PatchDiscriminator(nn.Module):
    """PatchGAN: C64 (no norm) - C128 - C256 - C512 (stride 1) - 1 channel; LeakyReLU 0.2, instance norm.

    With ``n_layers=3`` each output value sees a 70x70 input patch. Returns raw
    scores (no sigmoid): the least-squares GAN loss is applied to them directly.
    """

    def __init__(self, in_channels: int = 3, ndf: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"n_layers must be >= 1; got {n_layers}")
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2**n, 8)
            stride = 2 if n < n_layers else 1
            layers += [
                nn.Conv2d(ndf * prev, ndf * mult, 4, stride=stride, padding=1),
                _norm(ndf * mult, False),
                nn.LeakyReLU(0.2, True),
            ]
        layers.append(nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)


def init_weights(net: nn.Module, std: float = 0.02) -> nn.Module:
    """The reference initialisation: conv weights ~ N(0, 0.02), biases 0, affine norm weights ~ N(1, 0.02)."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.InstanceNorm2d) and m.affine:
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
    return net


@register_net("cyclegan-resnet")
def cyclegan_resnet(
    in_channels: int = 3, out_channels: int = 3, ngf: int = 64, n_blocks: int = 9, affine: bool = False
) -> ResnetGenerator:
    """ResNet generator; ``n_blocks`` 9 (256 px in the paper) or 6 (128 px), initialised as the reference."""
    return init_weights(ResnetGenerator(in_channels, out_channels, ngf, n_blocks, affine))


@register_net("patchgan")
def patchgan(in_channels: int = 3, ndf: int = 64, n_layers: int = 3) -> PatchDiscriminator:
    """70x70 PatchGAN discriminator (``n_layers=3``), initialised as the reference."""
    return init_weights(PatchDiscriminator(in_channels, ndf, n_layers))


# ---------------------------------------------------------------- foreign state dicts

_DROP_SUFFIXES = ("running_mean", "running_var", "num_batches_tracked")


def _reference_index(n_blocks: int) -> dict[int, str]:
    """Position in the reference ``model`` Sequential -> our module path, for layers holding parameters."""
    index = {1: "stem.1", 2: "stem.2", 4: "down.0", 5: "down.1", 7: "down.3", 8: "down.4"}
    u = 10 + n_blocks
    index.update({u: "up.0", u + 1: "up.1", u + 3: "up.3", u + 4: "up.4", u + 7: "head.1"})
    return index


def convert_foreign_generator(state: Mapping[str, Any]) -> tuple[str, dict[str, Any], dict[str, Tensor]]:
    """Recognise a foreign ResNet-generator state dict and map it onto :class:`ResnetGenerator`.

    Returns ``(source, kwargs, state_dict)``: ``source`` names the layout
    (``"pytorch-CycleGAN-and-pix2pix"`` or ``"vintagify"``), ``kwargs`` rebuild the
    network with ``create_net("cyclegan-resnet", **kwargs)`` and ``state_dict`` loads
    into it with ``strict=True``. Raises :class:`WeightsError` for anything else.
    """
    state = {
        k[len("module.") :] if k.startswith("module.") else k: v for k, v in state.items() if isinstance(v, Tensor)
    }
    if "model.1.weight" not in state or "model.1.bias" not in state:
        raise WeightsError(
            "not a recognised CycleGAN generator: no 'model.1.weight'/'model.1.bias' "
            "(expected a pytorch-CycleGAN-and-pix2pix ResnetGenerator or vintagify state dict)"
        )
    block_keys = [k for k in state if re.match(r"model\.\d+\.(conv_block|block)\.", k)]
    if not block_keys:
        raise WeightsError(
            "not a recognised CycleGAN generator: no residual blocks (model.N.conv_block.* or "
            "model.N.block.*); U-Net generators are not supported"
        )
    kind = "conv_block" if ".conv_block." in block_keys[0] else "block"
    source = "pytorch-CycleGAN-and-pix2pix" if kind == "conv_block" else "vintagify"
    block_ids = sorted({int(k.split(".")[1]) for k in block_keys})
    n_blocks = len(block_ids)
    if block_ids != list(range(10, 10 + n_blocks)):
        raise WeightsError(f"unexpected residual block positions {block_ids[:3]}...; not a ResnetGenerator layout")
    # the second conv of a block sits at 5, or at 6 when the block had dropout (which holds no weights)
    second = state.get(f"model.10.{kind}.6.weight")
    conv2 = 6 if second is not None and second.ndim == 4 else 5
    block_map = {1: 1, 2: 2, conv2: 5, conv2 + 1: 6}
    index = _reference_index(n_blocks)
    out: dict[str, Tensor] = {}
    for key, value in state.items():
        if key.endswith(_DROP_SUFFIXES):
            continue  # InstanceNorm statistics of pre-0.4 PyTorch files: unused in the forward pass
        parts = key.split(".")
        pos = int(parts[1]) if len(parts) > 2 and parts[0] == "model" and parts[1].isdigit() else -1
        if 10 <= pos < 10 + n_blocks and parts[2] == kind and int(parts[3]) in block_map:
            out[f"blocks.{pos - 10}.body.{block_map[int(parts[3])]}.{parts[-1]}"] = value
        elif pos in index and len(parts) == 3:
            out[f"{index[pos]}.{parts[-1]}"] = value
        else:
            raise WeightsError(f"unexpected key {key!r} in a {source} generator state dict")
    weight = state["model.1.weight"]
    head = out.get("head.1.weight")
    if head is None:
        raise WeightsError(f"{source} generator state dict has no output layer (model.{17 + n_blocks})")
    kwargs = {
        "in_channels": int(weight.shape[1]),
        "out_channels": int(head.shape[0]),
        "ngf": int(weight.shape[0]),
        "n_blocks": n_blocks,
        "affine": "stem.2.weight" in out,
    }
    return source, kwargs, {k: v.float() for k, v in out.items()}


def load_foreign_generator(state: Mapping[str, Any]) -> tuple[str, ResnetGenerator]:
    """:func:`convert_foreign_generator` then build and load the network (strict); returns ``(source, net)``."""
    source, kwargs, converted = convert_foreign_generator(state)
    net = ResnetGenerator(**kwargs)
    try:
        net.load_state_dict(converted, strict=True)
    except RuntimeError as err:
        raise WeightsError(f"{source} generator weights do not fit: {str(err).splitlines()[0]}") from None
    return source, net
