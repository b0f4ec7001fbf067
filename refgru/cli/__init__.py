"""The ``refgru`` command line: ``refgru.cli:main`` is the console script, ``python -m refgru`` runs it.

    :mod:`refgru.cli.app`    argparse: the parser, ``main``, one line on stderr for an error
    :mod:`refgru.cli.teach`  ``refgru explain`` and ``refgru trace``
    :mod:`refgru.cli.model`  ``refgru predict`` and ``refgru summary``
    :mod:`refgru.cli.io`     the safe ``.npz`` / ``.npy`` readers

(The parser module is ``app``, not ``main``: a submodule named ``main`` would replace the function
``refgru.cli.main`` as soon as it is imported.)
"""

from __future__ import annotations

from .app import build_parser, main

__all__ = ["build_parser", "main"]
