"""CompactLBFGS against torch.optim.LBFGS: the same iterates up to rounding (impasto.optim.lbfgs)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from impasto.optim.lbfgs import CompactLBFGS


def _quadratic(n: int = 40, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=torch.float64))
    eig = torch.logspace(0, 3, n, dtype=torch.float64)  # condition number 1000: L-BFGS needs its history
    a = q @ torch.diag(eig) @ q.t()
    b = torch.randn(n, generator=gen, dtype=torch.float64)
    return a, b


def _run(opt_class, f, x0: torch.Tensor, *, calls: int, **kw) -> list[torch.Tensor]:
    """Iterates after each of ``calls`` step() calls."""
    x = x0.clone().requires_grad_(True)
    opt = opt_class([x], tolerance_grad=0.0, tolerance_change=0.0, **kw)

    def closure():
        opt.zero_grad()
        loss = f(x)
        loss.backward()
        return loss

    out = []
    for _ in range(calls):
        opt.step(closure)
        out.append(x.detach().clone())
    return out


@pytest.mark.parametrize("history", [3, 100])  # 3: the history wraps around many times
@pytest.mark.parametrize("line_search", [None, "strong_wolfe"])
def test_same_iterates_as_torch_on_a_quadratic(history, line_search):
    a, b = _quadratic()

    def f(x):
        return 0.5 * x @ a @ x - b @ x

    x0 = torch.zeros(a.shape[0], dtype=torch.float64)
    kw = dict(lr=1.0 if line_search else 0.5, max_iter=4, history_size=history, line_search_fn=line_search)
    ours = _run(CompactLBFGS, f, x0, calls=6, **kw)
    ref = _run(torch.optim.LBFGS, f, x0, calls=6, **kw)
    scale = float(ref[-1].abs().max())
    for i, (x, r) in enumerate(zip(ours, ref)):
        assert torch.allclose(x, r, rtol=0, atol=1e-7 * scale), f"step() call {i}: {float((x - r).abs().max())}"
    # it does converge (a test that could fail if the direction were only "a" descent direction)
    xstar = torch.linalg.solve(a, b)
    assert float((ours[-1] - xstar).norm() / xstar.norm()) < float((x0 - xstar).norm() / xstar.norm())


def test_direction_is_minus_h_g_of_the_two_loop_recursion():
    """One direction computed from random pairs, against the two-loop recursion written out by hand."""
    from impasto.optim.lbfgs import _History

    gen = torch.Generator().manual_seed(1)
    n, m = 30, 5
    hist = _History(n, m, torch.float64, torch.device("cpu"), capacity=2)
    pairs = []
    prev = torch.randn(n, generator=gen, dtype=torch.float64)
    for _ in range(8):  # more pairs than m: the oldest are dropped
        d = torch.randn(n, generator=gen, dtype=torch.float64)
        g = prev + 0.5 * d + 0.1 * torch.randn(n, generator=gen, dtype=torch.float64)  # y.s > 0
        hist.push(g, prev, d, 1.0)
        pairs.append((d.clone(), g - prev))
        prev = g
    pairs = pairs[-m:]
    g = torch.randn(n, generator=gen, dtype=torch.float64)
    q = -g.clone()
    alphas = []
    for s, y in reversed(pairs):
        al = float(s @ q) / float(y @ s)
        q -= al * y
        alphas.append(al)
    s_new, y_new = pairs[-1]
    r = q * float(s_new @ y_new) / float(y_new @ y_new)
    for (s, y), al in zip(pairs, reversed(alphas)):
        be = float(y @ r) / float(y @ s)
        r += (al - be) * s
    assert torch.allclose(hist.direction(g), r, rtol=1e-10, atol=1e-12)


def test_rejected_pairs_are_not_kept():
    from impasto.optim.lbfgs import _History

    hist = _History(4, 3, torch.float64, torch.device("cpu"), capacity=4)
    g0 = torch.ones(4, dtype=torch.float64)
    hist.push(g0 - 1.0, g0, torch.ones(4, dtype=torch.float64), 1.0)  # y.s = -4: negative curvature
    assert hist.order == []
    g = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64)
    assert torch.equal(hist.direction(g), -g)  # no pairs: steepest descent with gamma = 1


@pytest.mark.slow
def test_same_iterates_as_torch_on_the_style_objective():
    """Ten plain L-BFGS steps on the Gatys objective at 32x24 px in float64 (the impasto loop's setting)."""
    from impasto.features.vgg import FeatureExtractor
    from impasto.losses.perceptual import StyleTransferLoss

    gen = torch.Generator().manual_seed(0)
    content = torch.rand(1, 3, 24, 32, generator=gen)
    style = torch.rand(1, 3, 24, 32, generator=gen)
    fx = FeatureExtractor(["relu1_1", "relu2_1", "relu3_1", "relu4_2"], pooling="max").double()
    objective = StyleTransferLoss(
        fx,
        content.double(),
        style.double(),
        content_layers=("relu4_2",),
        style_layers=("relu1_1", "relu2_1", "relu3_1"),
        precision="fp32",
    )

    def f(y):
        return objective(y / 255.0).total

    x0 = content.double() * 255.0 + 20 * torch.randn(1, 3, 24, 32, generator=gen, dtype=torch.float64)
    kw = dict(lr=1.0, max_iter=10, history_size=100)
    (ours,) = _run(CompactLBFGS, f, x0, calls=1, **kw)
    (ref,) = _run(torch.optim.LBFGS, f, x0, calls=1, **kw)
    moved = float((ref - x0).abs().max())
    assert moved > 1.0  # the run did go somewhere
    assert float((ours - ref).abs().max()) < 1e-6 * moved
    assert float(f(ours)) == pytest.approx(float(f(ref)), rel=1e-9)


@pytest.mark.slow
def test_default_run_reaches_the_same_judged_loss_as_torch_lbfgs(content_path, style_path, monkeypatch):
    """The default L-BFGS (CompactLBFGS) against torch's, on a real run: 128 px, 50 steps, fp32."""
    import impasto
    from impasto.optim import optimizers

    assert optimizers.LBFGS_IMPL == "compact"
    totals = {}
    for impl in ("compact", "torch"):
        monkeypatch.setattr(optimizers, "LBFGS_IMPL", impl)
        result = impasto.stylize(content_path, style_path, image_size=128, steps=50, precision="fp32", device="cpu")
        totals[impl] = result.losses["total"]
        assert len(result.history) == 50
    start = result.history[0]["total"]
    assert totals["torch"] < 0.5 * start  # the run optimised something
    assert totals["compact"] == pytest.approx(totals["torch"], rel=0.02)


@pytest.mark.slow
def test_fp32_runs_repeat_exactly(content_path, style_path):
    import impasto

    a, b = (
        impasto.stylize(content_path, style_path, image_size=64, steps=20, precision="fp32", device="cpu")
        for _ in range(2)
    )
    assert np.array_equal(a.array, b.array)
    assert a.losses == b.losses


def test_vector_threads_leave_the_callers_setting():
    """The optimiser's own work runs on ``threads``; the closure and the caller keep their thread count."""
    a, b = _quadratic(n=20)
    x = torch.zeros(20, dtype=torch.float64, requires_grad=True)
    opt = CompactLBFGS([x], lr=0.5, max_iter=5, threads=1, tolerance_grad=0.0, tolerance_change=0.0)
    before = torch.get_num_threads()
    seen = []

    def closure():
        seen.append(torch.get_num_threads())
        opt.zero_grad()
        loss = 0.5 * x @ a @ x - b @ x
        loss.backward()
        return loss

    opt.step(closure)
    assert torch.get_num_threads() == before
    assert seen == [before] * len(seen) and len(seen) == 5


def test_optimize_image_moves_the_variables_of_a_parameterization():
    """The loop optimises what the parameterization gives it and returns its picture (clamped by project_):
    here the picture is twice the variables, and the target lies partly outside [0, 1]."""
    from impasto.losses.terms import LossTerms
    from impasto.optim.loop import PIXEL_SCALE, Pixels, optimize_image

    torch.manual_seed(0)
    target = torch.rand(1, 3, 8, 8) * 1.2  # some pixels above 1: the clamp must hold them at 1

    def objective(x):
        zero = torch.zeros(())
        return LossTerms((x - target).pow(2).sum(), zero, zero)

    class Doubled(Pixels):
        def variables(self, image):
            return image.detach() * PIXEL_SCALE / 2

        def picture(self, y):
            return 2 * y

        def project_(self, y):
            y.clamp_(0, PIXEL_SCALE / 2)

    start = torch.full_like(target, 0.5)
    plain, _ = optimize_image(start, objective, steps=40)
    doubled, history = optimize_image(start, objective, steps=40, parameterization=Doubled())
    assert len(history) == 40
    torch.testing.assert_close(doubled, target.clamp(0, 1), atol=1e-3, rtol=0)
    torch.testing.assert_close(plain, target.clamp(0, 1), atol=1e-3, rtol=0)
