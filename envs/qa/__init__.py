"""Complex-QA environments (HotpotQA, StrategyQA) with Lumos' action space and offline tools.

Modules: :mod:`knowledge` (BM25 + MiniLM over a local corpus), :mod:`reader` (the local-LLM QA
tool), :mod:`tools` (the five actions), :mod:`executor` (per-task execution and the final-answer
step), :mod:`metrics`, :mod:`gold` (gold trajectories), :mod:`hotpotqa`, :mod:`strategyqa`.
Importing this package loads no model.
"""
