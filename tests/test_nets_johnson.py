"""The feed-forward stylisation network and its blocks: sizes, instance-norm invariance, no checkerboard."""

from __future__ import annotations

import pytest
import torch

from impasto.errors import InputError
from impasto.nets import create_net, list_nets
from impasto.nets.blocks import ConvNormAct, ResidualBlock, UpsampleConv
from impasto.nets.johnson import TransformerNet


@pytest.fixture()
def net() -> torch.nn.Module:
    torch.manual_seed(0)
    return create_net("johnson", width=4, blocks=2).eval()


def test_registered() -> None:
    assert "johnson" in list_nets()


@pytest.mark.parametrize("size", [(32, 32), (33, 47), (17, 61), (9, 8)])
def test_keeps_input_size_for_odd_sizes(net: torch.nn.Module, size: tuple[int, int]) -> None:
    with torch.no_grad():
        out = net(torch.rand(2, 3, *size))
    assert out.shape == (2, 3, *size)
    assert torch.isfinite(out).all()


def test_instance_norm_removes_a_global_brightness_offset(net: torch.nn.Module) -> None:
    x = torch.rand(1, 3, 40, 56) * 0.6
    with torch.no_grad():
        a, b = net(x), net(x + 0.3)
    # the first convolution turns a constant offset into a constant per channel, which the
    # instance norm after it subtracts: the output is the same up to float rounding
    assert torch.allclose(a, b, atol=1e-4), (a - b).abs().max()
    # a non-constant change does change the output, so the check above can fail
    with torch.no_grad():
        c = net(x * torch.linspace(0.5, 1.5, 56))
    assert (a - c).abs().max() > 1e-2


def test_configurable_width_and_blocks() -> None:
    small = create_net("johnson", width=8, blocks=1)
    big = create_net("johnson", width=16, blocks=3)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(big) > 3 * count(small)
    assert len(big.res) == 3 and big.head.conv.out_channels == 16


def test_bad_arguments_are_input_errors() -> None:
    with pytest.raises(InputError):
        create_net("johnson", width=8, kernel=4)
    with pytest.raises(InputError):
        create_net("johnson", depth=3)


def test_conv_norm_act_padding_and_stride() -> None:
    block = ConvNormAct(3, 5, kernel_size=3, stride=2)
    assert block(torch.rand(1, 3, 15, 16)).shape == (1, 5, 8, 8)  # ceil(H / 2)
    assert isinstance(block.pad, torch.nn.ReflectionPad2d) and block.conv.bias is None
    plain = ConvNormAct(3, 5, kernel_size=3, norm="none", act="none")
    assert plain.conv.bias is not None
    with pytest.raises(ValueError):
        ConvNormAct(3, 5, norm="group")


def test_residual_block_is_identity_plus_body() -> None:
    block = ResidualBlock(6)
    for p in block.body.parameters():  # a zero body: the block is the identity
        torch.nn.init.zeros_(p)
    x = torch.randn(2, 6, 9, 9)
    assert torch.equal(block(x), x)


def test_upsample_conv_resizes_to_exact_size_without_checkerboard() -> None:
    up = UpsampleConv(4, 4, norm="none", act="none")
    torch.nn.init.constant_(up.conv.conv.weight, 1.0 / 36)
    torch.nn.init.zeros_(up.conv.conv.bias)
    flat = torch.ones(1, 4, 5, 6)
    out = up(flat, size=(11, 13))
    assert out.shape == (1, 4, 11, 13)
    # a flat input stays flat (a transposed convolution with stride 2 would give a periodic pattern)
    assert torch.allclose(out, torch.ones_like(out), atol=1e-6)
    assert up(flat).shape == (1, 4, 10, 12)


@pytest.mark.parametrize("kernel", [1, 3, 9])
def test_inference_form_computes_the_same_function(kernel: int) -> None:
    from impasto.nets.inference import PhasedConv, for_inference

    torch.manual_seed(kernel)
    net = TransformerNet(width=4, blocks=1, kernel=kernel).eval()
    with torch.no_grad():
        net.tail.conv.bias.uniform_(-1, 1)
    fast = for_inference(net)
    assert isinstance(fast.tail, PhasedConv) and not isinstance(net.tail, PhasedConv)
    for size in [(32, 32), (33, 47), (21, 20), (17, 17)]:
        x = torch.rand(2, 3, *size)
        with torch.no_grad():
            expected, got = net(x), fast(x)
        assert got.shape == expected.shape == (2, 3, *size)
        assert torch.allclose(got, expected, atol=1e-5), (kernel, size, (got - expected).abs().max())
