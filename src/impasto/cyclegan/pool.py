"""The history pool of generated images (Shrivastava et al. 2017), used by CycleGAN's discriminators.

A discriminator update sees, for each new fake image, either that image or (with
probability 1/2 once the pool is full) a randomly chosen older fake, which is
then replaced by the new one. This damps the oscillation between generator and
discriminator.

The pool's images live in a plain list that the caller owns (CycleGAN keeps it
in ``TrainState.extra``, so it is checkpointed and survives a resume); the
random choices come from a ``torch.Generator`` the caller seeds per step, so a
resumed run makes the same choices as an uninterrupted one.
"""

from __future__ import annotations

import torch
from torch import Tensor


class ImagePool:
    """A view onto ``images`` (a list of (C, H, W) CPU tensors) holding at most ``size`` past fakes."""

    def __init__(self, size: int, images: list[Tensor] | None = None) -> None:
        if size < 0:
            raise ValueError(f"pool size must be >= 0; got {size}")
        self.size = size
        self.images: list[Tensor] = images if images is not None else []

    def query(self, batch: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Return a batch of the same shape mixing new fakes and pooled ones; updates the pool.

        ``batch`` must be detached. With ``size == 0`` the batch is returned unchanged.
        """
        if self.size == 0:
            return batch
        out = []
        for image in batch:
            stored = image.detach().to("cpu", copy=True)
            if len(self.images) < self.size:
                self.images.append(stored)
                out.append(image)
            elif float(torch.rand((), generator=generator)) < 0.5:
                k = int(torch.randint(len(self.images), (), generator=generator))
                old = self.images[k]
                self.images[k] = stored
                out.append(old.to(image.device, image.dtype))
            else:
                out.append(image)
        return torch.stack(out)

    def __len__(self) -> int:
        return len(self.images)
