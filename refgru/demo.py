"""Compatibility path (``refgru demo`` registers from here): the demo is :mod:`refgru.teach.demo`.

``refgru.demo`` *is* that module (one module object under two names), so code that patches its
attributes, as the tests do, patches the demo itself.
"""

import sys

from .teach import demo as _demo

sys.modules[__name__] = _demo
