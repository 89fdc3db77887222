"""moat-harness: evaluate and train planner + grounder agent pairs (MOAT, Agent Lumos, AgentTuning)."""

__version__ = "0.1.0"
