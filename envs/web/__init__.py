"""Web environments: Mind2Web (``mind2web.py``) with its candidate ranking and metrics."""
