"""Leaderboards in the MOAT paper's Table 2 layout: measured rows from run directories (each cell
linked to its ``results.json``), the paper's numbers from ``reported.csv`` (marked as reported),
paired comparisons between rows, and Markdown/HTML/PNG renderings (``harness leaderboard``)."""
