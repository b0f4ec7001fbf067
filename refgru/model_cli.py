"""The module path ``refgru.model_cli`` of earlier releases; see :mod:`refgru.cli.model`."""

from __future__ import annotations

from .cli.model import register

__all__ = ["register"]
