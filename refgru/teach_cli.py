"""The module path ``refgru.teach_cli`` of earlier releases; see :mod:`refgru.cli.teach` and :mod:`refgru.cli.io`."""

from __future__ import annotations

from .cli.io import load_input_npy, load_weights_npz
from .cli.teach import print_table, register

__all__ = ["load_input_npy", "load_weights_npz", "print_table", "register"]
