"""Tests of impasto.losses: hand-worked values, gradients, modules, precision, scale."""

from __future__ import annotations

import math

import pytest
import torch

from impasto.losses import (
    ContentLoss,
    GramStyleLoss,
    TotalVariation,
    content_loss,
    gram_matrix,
    gram_target,
    style_loss,
    tv_loss,
)

# feats (1, 2, 1, 2): channel 0 = [1, 2], channel 1 = [3, 4]; N = 2, M = 2.
HAND_FEATS = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])
# Raw Gram by hand: [1*1+2*2, 1*3+2*4; ., 3*3+4*4].
HAND_GRAM = torch.tensor([[[5.0, 11.0], [11.0, 25.0]]])


def checkerboard(n: int = 8) -> torch.Tensor:
    i = torch.arange(n).view(n, 1)
    j = torch.arange(n).view(1, n)
    return ((i + j) % 2).float().view(1, 1, n, n)


def ramp(n: int = 8, step: float = 1.0) -> torch.Tensor:
    return (step * torch.arange(n, dtype=torch.float32)).view(1, n).expand(n, n).reshape(1, 1, n, n)


# --------------------------------------------------------------------------- gram


def test_gram_matrix_hand_values_all_norms() -> None:
    torch.testing.assert_close(gram_matrix(HAND_FEATS, "none"), HAND_GRAM)
    torch.testing.assert_close(gram_matrix(HAND_FEATS, "hw"), HAND_GRAM / 2)  # M = 2
    torch.testing.assert_close(gram_matrix(HAND_FEATS, "chw"), HAND_GRAM / 4)  # N*M = 4
    torch.testing.assert_close(gram_matrix(HAND_FEATS), HAND_GRAM / 4)  # default is chw
    assert gram_matrix(torch.rand(3, 5, 4, 6)).shape == (3, 5, 5)


def test_gram_target_normalisation() -> None:
    torch.testing.assert_close(gram_target(HAND_FEATS, "paper"), HAND_GRAM / 2)
    torch.testing.assert_close(gram_target(HAND_FEATS, "hw"), HAND_GRAM / 2)
    torch.testing.assert_close(gram_target(HAND_FEATS, "chw"), HAND_GRAM / 4)


# --------------------------------------------------------------------------- style


def test_style_loss_hand_values() -> None:
    target = torch.eye(2).unsqueeze(0)
    # hw: G/M = [[2.5, 5.5], [5.5, 12.5]]; minus I -> [[1.5, 5.5], [5.5, 11.5]]
    # squares 2.25 + 30.25 + 30.25 + 132.25 = 195 -> mean 48.75, paper 195 / (4*2^2) = 12.1875
    assert style_loss(HAND_FEATS, target, "hw").item() == pytest.approx(48.75)
    assert style_loss(HAND_FEATS, target, "paper").item() == pytest.approx(12.1875)
    # chw: G/(N*M) = [[1.25, 2.75], [2.75, 6.25]]; minus I -> [[0.25, 2.75], [2.75, 5.25]]
    # squares 0.0625 + 7.5625 + 7.5625 + 27.5625 = 42.75 -> mean 10.6875
    assert style_loss(HAND_FEATS, target, "chw").item() == pytest.approx(10.6875)


def test_style_loss_paper_is_hw_over_four() -> None:
    torch.manual_seed(0)
    feats, style = torch.rand(2, 6, 5, 7), torch.rand(1, 6, 4, 3)
    paper = style_loss(feats, gram_target(style, "paper"), "paper")
    hw = style_loss(feats, gram_target(style, "hw"), "hw")
    torch.testing.assert_close(paper, hw / 4)


def test_style_loss_paper_matches_gatys_formula_when_sizes_match() -> None:
    torch.manual_seed(1)
    feats, style = torch.rand(1, 4, 3, 5, dtype=torch.float64), torch.rand(1, 4, 3, 5, dtype=torch.float64)
    n, m = 4, 15
    g = torch.einsum("ik,jk->ij", feats[0].reshape(n, m), feats[0].reshape(n, m))
    a = torch.einsum("ik,jk->ij", style[0].reshape(n, m), style[0].reshape(n, m))
    expected = ((g - a) ** 2).sum() / (4 * n**2 * m**2)
    torch.testing.assert_close(style_loss(feats, gram_target(style, "paper"), "paper"), expected)


@pytest.mark.parametrize("norm", ["paper", "chw", "hw"])
def test_style_loss_zero_against_own_target(norm: str) -> None:
    feats = torch.rand(2, 3, 4, 5)
    assert style_loss(feats, gram_target(feats, norm), norm).item() == pytest.approx(0.0, abs=1e-12)  # type: ignore[arg-type]


@pytest.mark.parametrize("norm", ["paper", "chw", "hw"])
def test_style_loss_averages_over_batch(norm: str) -> None:
    torch.manual_seed(2)
    a, b, style = torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4), torch.rand(1, 3, 6, 2)
    target = gram_target(style, norm)  # type: ignore[arg-type]
    both = style_loss(torch.cat([a, b]), target, norm)  # type: ignore[arg-type]
    separate = (style_loss(a, target, norm) + style_loss(b, target, norm)) / 2  # type: ignore[arg-type]
    torch.testing.assert_close(both, separate)


def test_style_loss_rejects_bad_target_and_norm() -> None:
    feats = torch.rand(2, 3, 4, 4)
    with pytest.raises(ValueError):
        style_loss(feats, torch.rand(1, 4, 4))
    with pytest.raises(ValueError):
        style_loss(feats, torch.rand(3, 3, 3))
    with pytest.raises(ValueError):
        style_loss(feats, torch.rand(1, 3, 3), "gatys")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        gram_matrix(torch.rand(3, 4, 4))


# --------------------------------------------------------------------------- content


def test_content_loss_hand_values() -> None:
    feats = torch.tensor([1.0, 2.0, 3.0, 4.0]).view(1, 1, 2, 2)
    target = torch.tensor([0.0, 2.0, 5.0, 3.0]).view(1, 1, 2, 2)
    # differences 1, 0, -2, 1 -> squares 1, 0, 4, 1: sum 6, mean 1.5, half sum 3
    assert content_loss(feats, target, "sum").item() == pytest.approx(6.0)
    assert content_loss(feats, target, "mean").item() == pytest.approx(1.5)
    assert content_loss(feats, target).item() == pytest.approx(1.5)
    assert content_loss(feats, target, "paper").item() == pytest.approx(3.0)


def test_content_loss_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        content_loss(torch.rand(1, 2, 3, 3), torch.rand(1, 2, 3, 4))
    with pytest.raises(ValueError):
        content_loss(torch.rand(1, 2, 3, 3), torch.rand(1, 2, 3, 3), "max")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- total variation


def test_tv_checkerboard() -> None:
    x = checkerboard()
    # every neighbour pair differs by 1: 8*7 horizontal + 7*8 vertical pairs = 112
    assert tv_loss(x, "l2", reduction="sum").item() == pytest.approx(112.0)
    assert tv_loss(x, "l1", reduction="sum").item() == pytest.approx(112.0)
    assert tv_loss(x, "l2").item() == pytest.approx(112.0 / 64)
    assert tv_loss(x, "l1", reduction="mean").item() == pytest.approx(112.0 / 64)
    # mean divides by B*C*H*W, so a batch of 2 x 3 channels gives the same mean
    assert tv_loss(x.expand(2, 3, 8, 8)).item() == pytest.approx(112.0 / 64)
    assert tv_loss(x.expand(2, 3, 8, 8), reduction="sum").item() == pytest.approx(6 * 112.0)


@pytest.mark.parametrize("kind", ["l2", "l1", "power"])
@pytest.mark.parametrize("beta", [1.0, 2.0, 3.0])
def test_tv_constant_image_is_zero(kind: str, beta: float) -> None:
    x = torch.full((2, 3, 8, 8), 0.37)
    assert tv_loss(x, kind, beta, "sum").item() == pytest.approx(0.0, abs=1e-12)  # type: ignore[arg-type]


def test_tv_ramp() -> None:
    x = ramp()  # x[i, j] = j: dx = 1 on 8x7 positions, dy = 0
    assert tv_loss(x, "l2", reduction="sum").item() == pytest.approx(56.0)
    assert tv_loss(x, "l1", reduction="sum").item() == pytest.approx(56.0)
    # power, beta 2, over the 7x7 common grid: each term (1 + 0)^1 = 1
    assert tv_loss(x, "power", 2.0, "sum").item() == pytest.approx(49.0, rel=1e-6)
    # a ramp of step 2 tells l2 (4 per pair) from l1 (2 per pair)
    x2 = ramp(step=2.0)
    assert tv_loss(x2, "l2", reduction="sum").item() == pytest.approx(224.0)
    assert tv_loss(x2, "l1", reduction="sum").item() == pytest.approx(112.0)


def test_tv_power_beta1_checkerboard() -> None:
    # on the 7x7 grid dx^2 + dy^2 = 1 + 1 = 2, so each term is sqrt(2)
    value = tv_loss(checkerboard(), "power", 1.0, "sum").item()
    assert value == pytest.approx(49 * math.sqrt(2), rel=1e-4)


def test_tv_rejects_bad_options() -> None:
    with pytest.raises(ValueError):
        tv_loss(torch.rand(1, 1, 4, 4), "l3")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        tv_loss(torch.rand(1, 1, 4, 4), "power", beta=0.0)
    with pytest.raises(ValueError):
        TotalVariation(reduction="max")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- gradients


def _rand64(*shape: int) -> torch.Tensor:
    return torch.rand(*shape, dtype=torch.float64, requires_grad=True)


@pytest.mark.parametrize("norm", ["none", "hw", "chw"])
def test_gradcheck_gram_matrix(norm: str) -> None:
    torch.manual_seed(3)
    assert torch.autograd.gradcheck(lambda f: gram_matrix(f, norm), (_rand64(2, 3, 4, 5),))  # type: ignore[arg-type]


@pytest.mark.parametrize("norm", ["paper", "chw", "hw"])
def test_gradcheck_style_loss(norm: str) -> None:
    torch.manual_seed(4)
    target = gram_target(torch.rand(1, 3, 5, 2, dtype=torch.float64), norm)  # type: ignore[arg-type]
    assert torch.autograd.gradcheck(lambda f: style_loss(f, target, norm), (_rand64(2, 3, 4, 5),))  # type: ignore[arg-type]


@pytest.mark.parametrize("reduction", ["mean", "sum", "paper"])
def test_gradcheck_content_loss(reduction: str) -> None:
    torch.manual_seed(5)
    target = torch.rand(1, 3, 4, 5, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda f: content_loss(f, target, reduction), (_rand64(2, 3, 4, 5),))  # type: ignore[arg-type]


@pytest.mark.parametrize(("kind", "beta"), [("l2", 2.0), ("l1", 2.0), ("power", 1.5), ("power", 3.0)])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_gradcheck_tv_loss(kind: str, beta: float, reduction: str) -> None:
    torch.manual_seed(6)
    # continuous random values: no two neighbours tie, so |dx| is differentiable
    assert torch.autograd.gradcheck(lambda x: tv_loss(x, kind, beta, reduction), (_rand64(2, 3, 5, 6),))  # type: ignore[arg-type]


def test_tv_power_gradient_finite_on_flat_image() -> None:
    x = torch.zeros(1, 1, 4, 4, requires_grad=True)
    tv_loss(x, "power", 1.0).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


# --------------------------------------------------------------------------- modules


def test_content_module_matches_function() -> None:
    torch.manual_seed(7)
    target, feats = torch.rand(2, 4, 5, 5, requires_grad=True), torch.rand(2, 4, 5, 5)
    for reduction in ("mean", "sum", "paper"):
        module = ContentLoss(target, reduction)
        torch.testing.assert_close(module(feats), content_loss(feats, target.detach(), reduction))
    assert not module.target.requires_grad
    assert "target" in module.state_dict() and len(list(module.parameters())) == 0


@pytest.mark.parametrize("norm", ["paper", "chw", "hw"])
def test_style_module_matches_function(norm: str) -> None:
    torch.manual_seed(8)
    style, feats = torch.rand(1, 4, 6, 3), torch.rand(1, 4, 5, 5)
    module = GramStyleLoss(style, norm)  # type: ignore[arg-type]
    torch.testing.assert_close(module.target, gram_target(style, norm))  # type: ignore[arg-type]
    torch.testing.assert_close(module(feats), style_loss(feats, gram_target(style, norm), norm))  # type: ignore[arg-type]


def test_style_module_target_is_a_buffer() -> None:
    module = GramStyleLoss(torch.rand(1, 3, 4, 4, requires_grad=True))
    assert "target" in module.state_dict()
    assert len(list(module.parameters())) == 0
    assert not module.target.requires_grad
    assert module.target.shape == (1, 3, 3)
    moved = module.to(torch.float64)
    assert moved.target.dtype == torch.float64


def test_style_module_broadcasts_target_over_batch() -> None:
    torch.manual_seed(9)
    style, a, b = torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4)
    module = GramStyleLoss(style, "chw")
    torch.testing.assert_close(module(torch.cat([a, b])), (module(a) + module(b)) / 2)


def test_tv_module_matches_function() -> None:
    torch.manual_seed(10)
    image = torch.rand(2, 3, 7, 9)
    for kind, beta, reduction in [("l2", 2.0, "mean"), ("l1", 2.0, "sum"), ("power", 1.5, "mean")]:
        module = TotalVariation(kind, beta, reduction)  # type: ignore[arg-type]
        torch.testing.assert_close(module(image), tv_loss(image, kind, beta, reduction))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- precision


def test_gram_matrix_bf16_input_returns_float32() -> None:
    torch.manual_seed(11)
    feats = torch.rand(2, 8, 6, 6)
    gram = gram_matrix(feats.bfloat16())
    assert gram.dtype == torch.float32
    torch.testing.assert_close(gram, gram_matrix(feats), rtol=2e-2, atol=1e-3)


def test_gram_matrix_float32_under_autocast() -> None:
    torch.manual_seed(12)
    feats = torch.rand(2, 8, 6, 6)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        gram = gram_matrix(feats)
    assert gram.dtype == torch.float32
    torch.testing.assert_close(gram, gram_matrix(feats))


def test_gram_matrix_keeps_float64() -> None:
    assert gram_matrix(torch.rand(1, 2, 3, 3, dtype=torch.float64)).dtype == torch.float64


# --------------------------------------------------------------------------- scale


def test_gram_size_invariance() -> None:
    torch.manual_seed(13)
    feats = torch.rand(1, 4, 5, 6)
    doubled = torch.cat([feats, feats], dim=3)
    torch.testing.assert_close(gram_matrix(doubled, "chw"), gram_matrix(feats, "chw"))
    torch.testing.assert_close(gram_matrix(doubled, "hw"), gram_matrix(feats, "hw"))
    torch.testing.assert_close(gram_matrix(doubled, "none"), 2 * gram_matrix(feats, "none"))


@pytest.mark.parametrize("norm", ["paper", "chw", "hw"])
def test_style_loss_with_differently_sized_style_image(norm: str) -> None:
    feats = torch.rand(1, 4, 5, 6)
    doubled = torch.cat([feats, feats], dim=3)
    assert style_loss(doubled, gram_target(feats, norm), norm).item() == pytest.approx(0.0, abs=1e-10)  # type: ignore[arg-type]


def test_content_mean_size_invariance() -> None:
    torch.manual_seed(14)
    feats, target = torch.rand(1, 4, 5, 6), torch.rand(1, 4, 5, 6)
    wide_feats, wide_target = torch.cat([feats, feats], dim=3), torch.cat([target, target], dim=3)
    torch.testing.assert_close(content_loss(wide_feats, wide_target), content_loss(feats, target))
    torch.testing.assert_close(content_loss(wide_feats, wide_target, "sum"), 2 * content_loss(feats, target, "sum"))
