"""Image optimisation: starting images, optimisers and the loop."""

from .init import initial_image
from .loop import optimize_image
from .optimizers import make_optimizer, make_schedule

__all__ = ["initial_image", "optimize_image", "make_optimizer", "make_schedule"]
