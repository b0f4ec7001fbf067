"""The NumPy-only core of refgru: no I/O, no printing.

Bottom to top: ``checks`` (argument validation), ``activation_fns`` / ``activation_vjps`` and
``activations`` (THE activation table), ``weights`` (``GRUWeights``, named slices), ``options``
(``GRUOptions``, resolved once), ``masking`` (THE sequence rules), ``cell`` (one step forwards and
backwards, and the readable step kernel), ``fused`` (the fast tanh/sigmoid step kernel), ``sequence``
(the one driver), ``api`` (``gru``, ``gru_step``) and ``backward`` (``gru_backward``).
"""
