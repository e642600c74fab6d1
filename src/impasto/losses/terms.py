"""``LossTerms``: the weighted terms of one evaluation of the style-transfer objective.

Its own module so that the optimisation loop and the objectives can both use it
without importing each other (or the configuration).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import Tensor


@dataclass
class LossTerms:
    """Weighted loss terms of one evaluation (scalars)."""

    content: Tensor
    style: Tensor
    tv: Tensor

    @property
    def total(self) -> Tensor:
        return self.content + self.style + self.tv

    def as_floats(self) -> dict[str, float]:
        terms = {"content": self.content, "style": self.style, "tv": self.tv, "total": self.total}
        return {k: float(v.detach()) for k, v in terms.items()}
