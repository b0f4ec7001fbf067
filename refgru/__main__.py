"""``python -m refgru`` is the ``refgru`` command."""

from .cli import main

raise SystemExit(main())
