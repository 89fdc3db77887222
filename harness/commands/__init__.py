"""Sub-commands of the ``harness`` CLI."""
