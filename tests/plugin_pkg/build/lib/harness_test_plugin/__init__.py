"""Toy plug-in proving that a third party adds an environment and an agent without touching moat-harness."""
