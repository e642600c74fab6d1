"""Trainable image-to-image networks, created by name through :mod:`impasto.nets.registry`."""

from .registry import create_net, list_nets, register_net

__all__ = ["create_net", "list_nets", "register_net"]
