"""The ``moat`` producer: the jointly aligned planner + grounder of ``harness train moat``.

Same options as ``lumos`` (see :mod:`agents.producers.lumos`); the default run folder is
``$HARNESS_MOAT_RUN``, else ``$HARNESS_TRAIN_DIR/moat``, else ``runs/train/moat``, else the shipped ``training/shipped/moat``. Agent option
``iteration: N`` loads the pair after iteration N instead of the final one (0 = the cold start).
"""

from __future__ import annotations

from typing import ClassVar

from harness.agent import Agent, AgentOptions, AgentProducer


class MoatProducer(AgentProducer):
    name: ClassVar[str] = "moat"
    description: ClassVar[str] = "Planner + grounder after MOAT joint alignment (`harness train moat`)."

    def build(self, options: AgentOptions) -> Agent:
        from agents.producers.lumos import build_trained_pair

        if options.extra.get("iteration") == 0:
            extra = {k: v for k, v in options.extra.items() if k != "iteration"}
            return build_trained_pair("moat", options.model_copy(update={"extra": extra}),
                                      planner_key="cold_planner", grounder_key="cold_grounder")
        return build_trained_pair("moat", options)
