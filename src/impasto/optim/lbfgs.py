"""L-BFGS with its curvature history in preallocated matrices (the compact representation).

``torch.optim.LBFGS`` keeps the curvature pairs ``(s_i, y_i)`` in Python lists and computes
the search direction with the two-loop recursion: for 100 pairs about 400 separate vector
operations per step, each its own parallel region. When another job shares the cores, every
one of them waits on a descheduled thread, and the optimiser's own work grew from under 1% to
40-50% of a 512 px step (issue 15).

:class:`CompactLBFGS` computes the same direction ``d = -H g`` with the compact representation
of the inverse Hessian approximation (Byrd, Nocedal & Schnabel 1994, "Representations of
quasi-Newton matrices and their use in limited memory methods", eq. 3.1)::

    H = gamma I + [S  gamma Y] [[R^-T (D + gamma Y^T Y) R^-1,  -R^-T],  [S^T      ]
                                [-R^-1,                          0   ]] [gamma Y^T]

with ``S``, ``Y`` the pairs as columns (oldest first), ``R`` the upper triangle of ``S^T Y``,
``D`` its diagonal and ``gamma = s^T y / y^T y`` of the newest pair (torch's ``H_diag``). The
pairs live as rows of one ``(m + 1, 2, n)`` tensor (``s_i`` and ``y_i`` adjacent, one spare
slot so that the oldest pair is dropped without moving the others), the inner products
``S^T Y`` and ``Y^T Y`` as ``(m + 1)^2`` float64 matrices updated one row and column per
accepted pair. A step reads the history twice, in two calls: one ``(2m x n) @ (n x 3)``
product gives the new pair's inner products with the stored ones and ``[S Y]^T g`` together,
and one ``addmv`` forms the direction; the rest are operations on ``m x m`` matrices. The
two-loop recursion reads it four times, in about ``4m`` calls.

Everything else follows ``torch.optim.LBFGS.step`` (torch 2.x) line by line: the same state
(``n_iter``, ``d``, ``t``, previous gradient and loss), the same pair test ``y^T s > 1e-10``,
first step ``min(1, 1/|g|_1) * lr``, stopping tests and optional strong-Wolfe line search
(torch's own ``_strong_wolfe``). The iterates are the same up to rounding (tests/test_lbfgs.py
checks against torch on a quadratic and on the style-transfer objective). ``threads`` runs the
optimiser's vector work on fewer threads than the objective.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import torch
from torch import Tensor
from torch.optim.optimizer import Optimizer

__all__ = ["CompactLBFGS"]

CURVATURE_EPS = 1e-10  # torch's test for keeping a pair: y^T s > 1e-10


class _History:
    """Up to ``m`` curvature pairs in one preallocated tensor, with their inner products."""

    def __init__(self, n: int, m: int, dtype: torch.dtype, device: torch.device, capacity: int) -> None:
        self.m = m
        self.slots = max(2, min(m + 1, capacity))  # grows (doubling) up to m + 1
        self.buf = torch.zeros(self.slots, 2, n, dtype=dtype, device=device)  # [slot, (s, y), n]
        self.work = torch.zeros(3, n, dtype=dtype, device=device)  # candidate s, y and the gradient g
        self.sy = torch.zeros(m + 1, m + 1, dtype=torch.float64)  # sy[i, j] = s_i . y_j (by slot)
        self.yy = torch.zeros(m + 1, m + 1, dtype=torch.float64)  # yy[i, j] = y_i . y_j
        self.order: list[int] = []  # slots of the kept pairs, oldest first
        self.free = 0  # the slot the next accepted pair is copied to
        self.gamma = 1.0  # H_diag: the initial inverse Hessian is gamma * I
        self._small: tuple[Tensor, Tensor, Tensor, Tensor] | None = None  # idx, R, D, YY (chronological)
        self._proj: tuple[Tensor, Tensor] | None = None  # (g, [S Y]^T g by slot) from push's product

    def _rows(self) -> Tensor:
        """The slots in use as a (2 * rows, n) matrix: every slot up to the highest one in use."""
        top = max(self.order) + 1
        return self.buf[:top].view(2 * top, -1)

    def reserve(self, slots: int) -> None:
        """Room for ``slots`` slots (at most m + 1) in one allocation, so that the buffer does not grow
        step by step (a growing buffer briefly holds its old and new copies)."""
        slots = min(self.m + 1, slots)
        if slots <= self.slots:
            return
        buf = torch.zeros(slots, *self.buf.shape[1:], dtype=self.buf.dtype, device=self.buf.device)
        buf[: self.slots] = self.buf
        self.buf, self.slots = buf, slots

    def _grow(self) -> None:
        if self.free >= self.slots:
            self.reserve(2 * self.slots)

    def push(self, g: Tensor, prev_g: Tensor, d: Tensor, t: float) -> None:
        """Form ``y = g - prev_g``, ``s = t d``; keep the pair if ``y^T s > 1e-10`` (torch's test).

        A kept pair's inner products with every stored pair, and the history's products with ``g``
        (for :meth:`direction`), come from one ``(2 rows x n) @ (n x 3)`` product: one read of the
        history.
        """
        self._proj = None
        s, y = self.work[0], self.work[1]
        torch.mul(d, t, out=s)
        torch.sub(g, prev_g, out=y)
        ys = float(torch.dot(y, s))
        if not ys > CURVATURE_EPS:
            return
        self._grow()
        k = self.free
        self.buf[k].copy_(self.work[:2])
        self.order.append(k)
        if len(self.order) > self.m:
            self.free = self.order.pop(0)
        else:
            self.free = len(self.order)
        self.work[2].copy_(g)
        rows = self._rows()
        prods = torch.mm(rows, self.work.t()).double().view(-1, 2, 3)  # [slot, (s_i, y_i), (s_k, y_k, g)]
        top = prods.shape[0]
        self.sy[:top, k] = prods[:, 0, 1]  # s_i . y_k
        self.sy[k, :top] = prods[:, 1, 0]  # s_k . y_j  (y_j . s_k)
        self.yy[:top, k] = prods[:, 1, 1]
        self.yy[k, :top] = prods[:, 1, 1]
        self.gamma = float(prods[k, 0, 1] / prods[k, 1, 1])  # ys / yy of the newest pair
        self._small = None
        self._proj = (g, prods[:, :, 2])

    def direction(self, g: Tensor) -> Tensor:
        """``-H g`` (a new tensor)."""
        if not self.order:
            return torch.mul(g, -self.gamma)
        rows = self._rows()
        top = rows.shape[0] // 2
        if self._small is None:
            idx = torch.tensor(self.order)
            sy = self.sy[idx][:, idx]
            self._small = (idx, sy.triu(), sy.diagonal().clone(), self.yy[idx][:, idx])
        idx, r, dg, yy = self._small
        if self._proj is not None and self._proj[0] is g and self._proj[1].shape[0] == top:
            by_slot = self._proj[1]
        else:
            by_slot = torch.mv(rows, g).double().view(top, 2)
        self._proj = None
        proj = by_slot[idx]  # (S^T g, Y^T g), oldest first
        a, b = proj[:, 0:1], proj[:, 1:2]
        gamma = self.gamma
        u = torch.linalg.solve_triangular(r, a, upper=True)  # R^-1 S^T g
        cs = torch.linalg.solve_triangular(r.t(), dg[:, None] * u + gamma * (yy @ u) - gamma * b, upper=False)
        coef = torch.zeros(top, 2, dtype=torch.float64)
        coef[idx, 0] = cs[:, 0]
        coef[idx, 1] = -gamma * u[:, 0]
        # d = -(gamma g + S cs + Y cy), one addmv over the history
        return torch.addmv(g, rows.t(), coef.view(-1).to(g.dtype), beta=-gamma, alpha=-1.0)


class CompactLBFGS(Optimizer):
    """``torch.optim.LBFGS`` with a preallocated history and a compact-representation direction.

    Args:
        params: the tensors to optimise (flattened into one vector, as torch's L-BFGS does).
        lr, max_iter, max_eval, tolerance_grad, tolerance_change, history_size, line_search_fn:
            as in ``torch.optim.LBFGS`` (read from ``param_groups[0]`` at every ``step``).
        threads: torch threads for the optimiser's own vector work on the CPU (``None``: leave as
            set). The objective (the closure) always runs with the caller's setting.

    Example:
        >>> x = torch.zeros(3, requires_grad=True)
        >>> opt = CompactLBFGS([x], max_iter=10, line_search_fn="strong_wolfe")
        >>> def closure():
        ...     opt.zero_grad()
        ...     loss = ((x - 1) ** 2).sum()
        ...     loss.backward()
        ...     return loss
        >>> _ = opt.step(closure)
        >>> bool(torch.allclose(x, torch.ones(3)))
        True
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1.0,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: str | None = None,
        threads: int | None = None,
    ) -> None:
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        if line_search_fn not in (None, "strong_wolfe"):
            raise ValueError(f"only 'strong_wolfe' is supported as a line search; got {line_search_fn!r}")
        defaults = dict(
            lr=lr,
            max_iter=max_iter,
            max_eval=max_eval,
            tolerance_grad=tolerance_grad,
            tolerance_change=tolerance_change,
            history_size=history_size,
            line_search_fn=line_search_fn,
        )
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("CompactLBFGS doesn't support per-parameter options (parameter groups)")
        self._params: list[Tensor] = self.param_groups[0]["params"]
        self._numel = sum(p.numel() for p in self._params)
        self.threads = threads

    # -- flat views of the parameters (as torch's LBFGS) ------------------------------------------
    def _gather_flat_grad(self) -> Tensor:
        if len(self._params) == 1:
            (p,) = self._params
            if p.grad is None:
                return p.new_zeros(p.numel())
            return p.grad.reshape(-1)  # a view when contiguous; the loop copies what it keeps
        views = [p.new_zeros(p.numel()) if p.grad is None else p.grad.reshape(-1) for p in self._params]
        return torch.cat(views, 0)

    def _add_grad(self, step_size: float, update: Tensor) -> None:
        offset = 0
        for p in self._params:
            n = p.numel()
            p.add_(update[offset : offset + n].view_as(p), alpha=step_size)
            offset += n

    def _clone_param(self) -> list[Tensor]:
        return [p.clone(memory_format=torch.contiguous_format) for p in self._params]

    def _set_param(self, params_data: list[Tensor]) -> None:
        for p, pdata in zip(self._params, params_data):
            p.copy_(pdata)

    def _directional_evaluate(
        self, closure: Callable[[], Tensor], x: list[Tensor], t: float, d: Tensor
    ) -> tuple[float, Tensor]:
        self._add_grad(t, d)
        loss = float(closure())
        flat_grad = self._gather_flat_grad().clone(memory_format=torch.contiguous_format)
        self._set_param(x)
        return loss, flat_grad

    @contextmanager
    def _vector_threads(self) -> Iterator[None]:
        if self.threads is None or self._params[0].device.type != "cpu":
            yield
            return
        before = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            yield
        finally:
            torch.set_num_threads(before)

    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor]) -> Tensor:  # type: ignore[override]
        """Up to ``max_iter`` iterations (``max_eval`` evaluations); returns the first loss."""
        closure = torch.enable_grad()(closure)
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]

        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = closure()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if float(torch.linalg.vector_norm(flat_grad, float("inf"))) <= tolerance_grad:
            return orig_loss

        d: Tensor | None = state.get("d")
        t: float = state.get("t", 0.0)
        hist: _History | None = state.get("history")
        prev_flat_grad: Tensor | None = state.get("prev_flat_grad")
        prev_loss: float = state.get("prev_loss", loss)

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            with self._vector_threads():
                if state["n_iter"] == 1 or hist is None or d is None or prev_flat_grad is None:
                    hist = _History(self._numel, history_size, flat_grad.dtype, flat_grad.device, capacity=2)
                    d = flat_grad.neg()
                else:
                    hist.reserve(max_iter + 1)  # every pair of this call fits (the loop's call: the whole run)
                    hist.push(flat_grad, prev_flat_grad, d, t)
                    d = hist.direction(flat_grad)
                if prev_flat_grad is None:
                    prev_flat_grad = flat_grad.clone(memory_format=torch.contiguous_format)
                else:
                    prev_flat_grad.copy_(flat_grad)
                prev_loss = loss
                if state["n_iter"] == 1:
                    t = min(1.0, 1.0 / float(flat_grad.abs().sum())) * lr
                else:
                    t = lr
                gtd = float(torch.dot(flat_grad, d))
            if gtd > -tolerance_change:  # not a descent direction
                break

            ls_func_evals = 0
            if line_search_fn is not None:
                from torch.optim.lbfgs import _strong_wolfe  # torch's own strong-Wolfe search

                x_init = self._clone_param()

                def obj_func(x: list[Tensor], t: float, d: Tensor) -> tuple[float, Tensor]:
                    return self._directional_evaluate(closure, x, t, d)

                loss, flat_grad, t, ls_func_evals = _strong_wolfe(obj_func, x_init, t, d, loss, flat_grad, gtd)
                t = float(t)
                self._add_grad(t, d)
                opt_cond = float(torch.linalg.vector_norm(flat_grad, float("inf"))) <= tolerance_grad
            else:
                with self._vector_threads():
                    self._add_grad(t, d)
                opt_cond = False
                if n_iter != max_iter:
                    loss = float(closure())
                    flat_grad = self._gather_flat_grad()
                    with self._vector_threads():
                        opt_cond = float(torch.linalg.vector_norm(flat_grad, float("inf"))) <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            with self._vector_threads():  # |t d|_inf, as torch's d.mul(t).abs().max() (same rounding)
                if abs(t) * float(torch.linalg.vector_norm(d, float("inf"))) <= tolerance_change:
                    break
            if abs(loss - prev_loss) < tolerance_change:
                break

        state.update(d=d, t=t, history=hist, prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss
