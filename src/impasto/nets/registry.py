"""An explicit registry of networks: ``@register_net("name")`` on a factory, ``create_net(name, **kwargs)``.

Checkpoints store the name and the keyword arguments, so a network is rebuilt
from its checkpoint alone. Modules that define networks register them when
imported; :func:`create_net` imports the known ones first.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

from torch import nn

from ..errors import InputError

FactoryT = TypeVar("FactoryT", bound=Callable[..., nn.Module])

_NETS: dict[str, Callable[..., nn.Module]] = {}
_MODULES = ("johnson", "cyclegan", "decoder")  # impasto.nets.<module> files that register networks


def register_net(name: str) -> Callable[[FactoryT], FactoryT]:
    def add(factory: FactoryT) -> FactoryT:
        if name in _NETS and _NETS[name] is not factory:
            raise KeyError(f"network {name!r} registered twice")
        _NETS[name] = factory
        return factory

    return add


def _import_known() -> None:
    for module in _MODULES:
        try:
            importlib.import_module(f"{__package__}.{module}")
        except ModuleNotFoundError as err:
            if err.name != f"{__package__}.{module}":
                raise


def list_nets() -> list[str]:
    _import_known()
    return sorted(_NETS)


def create_net(name: str, **kwargs: Any) -> nn.Module:
    _import_known()
    if name not in _NETS:
        raise InputError(f"unknown network {name!r}; choose from {', '.join(sorted(_NETS)) or 'none'}")
    try:
        return _NETS[name](**kwargs)
    except TypeError as err:
        raise InputError(f"bad arguments for network {name!r}: {err}") from None
