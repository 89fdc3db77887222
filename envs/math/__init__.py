"""Maths environments (GSM8K, SVAMP) with the Lumos maths action space on sympy.

Modules: ``engine`` (sympy parsing/evaluation), ``tools`` (the actions and their specs),
``executor`` (per-task sessions), ``code`` (the ``Code`` action), ``scoring`` (answer extraction
and exact match), ``gold`` (gold trajectories from the datasets), ``gsm8k``/``svamp`` (the
environments). Importing this package does not import sympy.
"""
