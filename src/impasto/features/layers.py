"""The VGG-19 layer table: names, strides and sizes, without torch.

Layer names follow the papers: conv1_1, relu1_1, conv1_2, relu1_2, pool1, ...,
relu5_4, pool5 (the order of torchvision's ``vgg19().features``). Configs
validate layer names against this table, so it imports nothing heavy: the
command line builds its flags, and checks them, before torch is loaded.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import InputError

VGG_BLOCKS = (2, 2, 4, 4, 4)  # convolutions per block; a 2x2 pooling ends each block


def vgg19_layer_names() -> tuple[str, ...]:
    """Every named layer of VGG-19 features, in forward order (conv1_1, relu1_1, ..., pool5)."""
    names: list[str] = []
    for block, n_convs in enumerate(VGG_BLOCKS, start=1):
        for i in range(1, n_convs + 1):
            names += [f"conv{block}_{i}", f"relu{block}_{i}"]
        names.append(f"pool{block}")
    return tuple(names)


LAYER_NAMES = vgg19_layer_names()


def check_layers(layers: Iterable[str], what: str = "VGG layers") -> tuple[str, ...]:
    """Raise :class:`InputError` unless ``layers`` is a non-empty list of VGG-19 layer names; return them."""
    layers = tuple(layers)
    if not layers:
        raise InputError(f"{what} is empty")
    for name in layers:
        if name not in LAYER_NAMES:
            raise InputError(f"unknown VGG-19 layer {name!r}; names look like conv4_2, relu1_1, pool3")
    return layers


def layer_stride(name: str) -> int:
    """Pixels of the input per pixel of layer ``name``: 2 to the number of poolings up to and including it."""
    index = LAYER_NAMES.index(name)
    return 2 ** sum(1 for n in LAYER_NAMES[: index + 1] if n.startswith("pool"))


def layer_hw(hw: tuple[int, int], name: str) -> tuple[int, int]:
    """Spatial size of layer ``name`` for an input of size ``hw`` (each 2x2 pooling floors)."""
    stride = layer_stride(name)
    return hw[0] // stride, hw[1] // stride


def min_side_for_layers(layers: Iterable[str]) -> int:
    """Smallest input side that keeps every layer at least 1 px: each pool before it halves (floor) the size."""
    pools = max(int(name[4]) - (0 if name.startswith("pool") else 1) for name in layers)
    return 2**pools
