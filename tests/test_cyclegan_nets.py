"""CycleGAN networks: shapes, the PatchGAN's 70x70 receptive field, and loading foreign generator weights."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from impasto.errors import WeightsError
from impasto.nets import create_net
from impasto.nets.cyclegan import PatchDiscriminator, ResnetGenerator, convert_foreign_generator, load_foreign_generator

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("n_blocks", [6, 9])
@pytest.mark.parametrize("hw", [(37, 29), (33, 64), (5, 7), (1, 4), (32, 32)])
def test_generator_keeps_any_input_size(n_blocks, hw):
    torch.manual_seed(0)
    net = create_net("cyclegan-resnet", ngf=4, n_blocks=n_blocks)
    x = torch.rand(2, 3, *hw) * 2 - 1
    y = net(x)
    assert y.shape == x.shape
    assert y.abs().max() <= 1 and torch.isfinite(y).all()
    assert len(net.blocks) == n_blocks


def test_generator_output_for_padded_sizes_matches_the_unpadded_crop_region():
    """Padding to a multiple of 4 must not change the network at sizes that need none."""
    torch.manual_seed(0)
    net = create_net("cyclegan-resnet", ngf=4, n_blocks=6)
    x = torch.rand(1, 3, 32, 36) * 2 - 1
    direct = net.head(net.up(net.blocks(net.down(net.stem(x)))))
    assert torch.equal(net(x), direct)


def test_patchgan_sees_70x70_patches():
    torch.manual_seed(0)
    net = create_net("patchgan", ndf=4)
    assert isinstance(net, PatchDiscriminator)
    for i, layer in enumerate(net.model):  # instance norm couples all positions; the receptive field is the convs'
        if isinstance(layer, nn.InstanceNorm2d):
            net.model[i] = nn.Identity()
    x = torch.rand(1, 3, 160, 160, requires_grad=True)
    out = net(x)
    assert out.shape[:2] == (1, 1) and out.shape[-1] == 18  # 160 -> 80 -> 40 -> 20 -> 19 -> 18
    out[0, 0, 9, 9].backward()
    touched = x.grad[0].abs().sum(0) > 0
    rows, cols = touched.any(1).nonzero().flatten(), touched.any(0).nonzero().flatten()
    assert rows.max() - rows.min() + 1 == 70 and cols.max() - cols.min() + 1 == 70


def _reference_layout(ngf: int, n_blocks: int, dropout: bool) -> nn.Module:
    """pytorch-CycleGAN-and-pix2pix's ResnetGenerator layout, written out here as the reference.

    Instance norm without affine parameters, biased convolutions, blocks named ``conv_block``.
    """

    class Block(nn.Module):
        def __init__(self, dim: int) -> None:
            super().__init__()
            layers = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), nn.InstanceNorm2d(dim), nn.ReLU(True)]
            layers += [nn.Dropout(0.5)] if dropout else []
            layers += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), nn.InstanceNorm2d(dim)]
            self.conv_block = nn.Sequential(*layers)

        def forward(self, x):
            return x + self.conv_block(x)

    layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7), nn.InstanceNorm2d(ngf), nn.ReLU(True)]
    for mult in (1, 2):
        layers += [
            nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1),
            nn.InstanceNorm2d(ngf * mult * 2),
            nn.ReLU(True),
        ]
    layers += [Block(4 * ngf) for _ in range(n_blocks)]
    for mult in (4, 2):
        layers += [
            nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, stride=2, padding=1, output_padding=1),
            nn.InstanceNorm2d(ngf * mult // 2),
            nn.ReLU(True),
        ]
    layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7), nn.Tanh()]
    model = nn.Sequential(*layers)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.1)
    holder = nn.Module()
    holder.model = model
    return holder


@pytest.mark.parametrize("dropout", [False, True])
def test_reference_generator_state_dict_converts_exactly(dropout):
    torch.manual_seed(1)
    ref = _reference_layout(ngf=8, n_blocks=6, dropout=dropout).eval()
    state = ref.state_dict()
    # a pre-0.4 file: InstanceNorm running statistics that the forward pass never uses, and a DataParallel prefix
    state = {f"module.{k}": v for k, v in state.items()}
    state["module.model.2.running_mean"] = torch.zeros(8)
    source, kwargs, converted = convert_foreign_generator(state)
    assert source == "pytorch-CycleGAN-and-pix2pix"
    assert kwargs == {"in_channels": 3, "out_channels": 3, "ngf": 8, "n_blocks": 6, "affine": False}
    source, net = load_foreign_generator(state)
    x = torch.rand(1, 3, 36, 44) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(net(x), ref.model(x), atol=1e-6)


def test_unrecognised_state_dicts_are_refused_with_one_line():
    with pytest.raises(WeightsError, match="not a recognised CycleGAN generator"):
        convert_foreign_generator({"conv.weight": torch.zeros(1)})
    state = ResnetGenerator(ngf=4, n_blocks=6).state_dict()  # impasto's own names are not a foreign layout
    with pytest.raises(WeightsError):
        convert_foreign_generator(state)
    ref = _reference_layout(ngf=4, n_blocks=6, dropout=False).state_dict()
    ref["model.30.weight"] = torch.zeros(1)
    with pytest.raises(WeightsError, match="unexpected key"):
        convert_foreign_generator(ref)
