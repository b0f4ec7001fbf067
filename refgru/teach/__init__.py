"""The teaching tools: ``explain`` (what the arrays are), ``trace`` (every value of every step), their
text, Markdown and HTML rendering (``render``), the gate plot (``plot``), the seed question (``seed_question``)
and the ``refgru demo`` command (``demo``). They use the core; the core never imports them."""
