"""MOAT joint alignment (Algorithm 2, SPEC d.1) on top of a cold start, resumable per stage.

Per iteration r (folder ``moat/iter_r/``):

1. ``sample``: K plans per plan step from planner_{r-1} (T = 1.0, top_p 0.95, one line each);
2. ``reward``: grounder_{r-1} mean NLL of the gold actions given each plan; pairs (min / max NLL,
   gap >= 0.1);
3. ``dpo``: planner DPO -> planner_r (stage 1; skipped with ``--no-stage1``);
4. ``regen`` + ``critic``: grounder_{r-1} grounds the lowest-NLL plan of each step (T = 0.1), the
   critic accepts or corrects; corrected pairs mixed 1:1 with the initial grounding data;
5. ``grounder_sft`` -> grounder_r (stage 2; skipped with ``--no-stage2``);
6. ``dev``: the pair's accuracy and expected NLL on the held-out dev slice.

``moat/log.jsonl`` + ``moat/rewards.png`` hold the per-iteration log.
"""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path
from typing import Any

from training.critic import Candidate, Critic, ExecutionCritic, LLMCritic, NoCritic, split_subgoal_line
from training.datasets import GoldExample
from training.dpo import train_dpo
from training.evaluation import dev_accuracy, dev_expected_nll
from training.manifest import RunDir, write_json_atomic
from training.pipeline import dev_examples, lora_or_none, train_examples
from training.plots import plot_log
from training.presets import TrainConfig
from training.records import PlanStep, grounder_record, plan_steps
from training.reward import best_sample, score_samples, select_pair, summarize
from training.sampling import open_backend, read_jsonl, regenerate_actions, resumable_map, sample_plans, write_jsonl
from training.sft import train_sft

log = logging.getLogger(__name__)


def _eos(backend: Any) -> str | None:
    return getattr(getattr(backend, "tokenizer", None), "eos_token", None)


class MoatTrainer:
    def __init__(self, run: RunDir, cfg: TrainConfig, data_dir: str | None = None) -> None:
        self.run = run
        self.cfg = cfg
        self.m = cfg.moat
        self.data_dir = data_dir
        self.base = run.output("base")
        self.envs: dict[str, Any] = {}

    # -- helpers -------------------------------------------------------------------------------
    def env(self, name: str) -> Any:
        if name not in self.envs:
            from harness.registry import ENVS

            self.envs[name] = ENVS.get(name)(data_dir=self.data_dir)
        return self.envs[name]

    def backend(self, ckpt: Path | None, label: str) -> Any:
        return open_backend(self.base, ckpt, dtype=self.m.backend_dtype, label=label, backend=self.m.backend,
                            **self.m.backend_options)

    def close(self) -> None:
        for env in self.envs.values():
            env.close()

    def _select(self, examples: list[GoldExample]) -> list[GoldExample]:
        if self.m.tasks is None or self.m.tasks >= len(examples):
            return examples
        return random.Random(self.m.seed).sample(examples, self.m.tasks)

    # -- the loop ------------------------------------------------------------------------------
    def train(self) -> tuple[Path, Path]:
        examples = self._select(train_examples(self.run))
        self.by_id = {ex.id: ex for ex in examples}
        self.steps = [s for ex in examples for s in plan_steps(ex, self.m.formulation)]
        self.dev = dev_examples(self.run)
        planner, grounder = self.run.output("cold_planner"), self.run.output("cold_grounder")
        log.info("MOAT: %d tasks, %d plan steps, %d iterations, K=%d, critic=%s", len(examples), len(self.steps),
                 self.m.iterations, self.m.k, self.m.critic.kind)
        self.run.stage("moat_iter0_dev", lambda: self._dev(planner, grounder, with_nll=True, iteration=0))
        for r in range(1, self.m.iterations + 1):
            planner, grounder = self._iteration(r, planner, grounder)
            self.write_log()
        self.run.set_output("planner", planner)
        self.run.set_output("grounder", grounder)
        self.write_log()
        return planner, grounder

    def _iteration(self, r: int, planner: Path, grounder: Path) -> tuple[Path, Path]:
        d = self.run.sub("moat", f"iter_{r}")
        p = f"moat_iter{r}_"
        run = self.run
        run.stage(p + "sample", lambda: self._sample(d, planner, r))
        run.stage(p + "reward", lambda: self._reward(d, grounder))
        new_planner = planner
        if self.m.stage1:
            pairs = read_jsonl(d / "pairs.jsonl")
            if pairs:
                run.stage(p + "dpo", lambda: train_dpo(self.base, pairs, d / "planner", self.m.dpo,
                                                       lora_or_none(self.cfg), init=planner), all_ranks=True)
                new_planner = d / "planner"
            else:
                log.warning("iteration %d: no preference pair passed the gap filter; planner unchanged", r)
        if self.m.dev_eval:
            run.stage(p + "dev_after_dpo", lambda: {"dev_nll": self._dev_nll(new_planner, grounder)})
        new_grounder = grounder
        if self.m.stage2:
            run.stage(p + "regen", lambda: self._regen(d, grounder, r))
            run.stage(p + "critic", lambda: self._critic(d))
            records = read_jsonl(d / "grounder_sft.jsonl")
            run.stage(p + "grounder_sft", lambda: train_sft(self.base, records, d / "grounder", self.m.grounder_sft,
                                                            lora_or_none(self.cfg), init=grounder), all_ranks=True)
            new_grounder = d / "grounder"
        run.stage(p + "dev", lambda: self._dev(new_planner, new_grounder, with_nll=True, iteration=r))
        run.set_output(f"iter{r}_planner", new_planner)
        run.set_output(f"iter{r}_grounder", new_grounder)
        return new_planner, new_grounder

    # -- stages --------------------------------------------------------------------------------
    def _sample(self, d: Path, planner_ckpt: Path, r: int) -> dict[str, Any]:
        planner = self.backend(planner_ckpt, f"planner-iter{r - 1}")
        try:
            samples = sample_plans(planner, self.steps, d / "samples.jsonl", self.m.k, self.m.temperature,
                                   self.m.top_p, self.m.max_new_tokens, seed=self.m.seed + 1000 * r)
        finally:
            planner.close()
        distinct = [len(set(v)) for v in samples.values()]
        return {"plan_steps": len(samples), "mean_distinct_samples": sum(distinct) / max(1, len(distinct))}

    def _reward(self, d: Path, grounder_ckpt: Path) -> dict[str, Any]:
        samples = {r["key"]: r["samples"] for r in read_jsonl(d / "samples.jsonl")}
        steps = [s for s in self.steps if s.id in samples]
        by_id = {s.id: s for s in steps}
        grounder = self.backend(grounder_ckpt, "grounder")
        eos = _eos(grounder) if self.m.reward_eos else None
        try:
            def compute(ids: list[str]) -> list[dict[str, Any]]:
                nll = score_samples(grounder, [by_id[i] for i in ids], [samples[i] for i in ids], eos=eos)
                return [{"nll": row} for row in nll]

            rows = resumable_map(d / "rewards.jsonl", [s.id for s in steps], compute, 8, "plan steps scored")
        finally:
            grounder.close()
        nlls = [rows[s.id]["nll"] for s in steps]
        pairs = [p for s, n in zip(steps, nlls) if (p := select_pair(s, samples[s.id], n, self.m.min_gap))]
        write_jsonl(d / "pairs.jsonl", [p.to_dict() for p in pairs])
        return summarize(nlls, pairs, len(steps))

    def _candidates(self, d: Path) -> list[tuple[PlanStep, str, float]]:
        samples = {r["key"]: r["samples"] for r in read_jsonl(d / "samples.jsonl")}
        rewards = {r["key"]: r["nll"] for r in read_jsonl(d / "rewards.jsonl")}
        out = []
        for step in self.steps:
            if step.id not in samples or step.id not in rewards:
                continue
            if self.m.grounder_candidates == "all":
                seen = set()
                for s, v in sorted(zip(samples[step.id], rewards[step.id]), key=lambda t: t[1]):
                    if s not in seen:
                        seen.add(s)
                        out.append((step, s, v))
            elif (best := best_sample(samples[step.id], rewards[step.id])) is not None:
                out.append((step, best[0], best[1]))
        return out

    def _regen(self, d: Path, grounder_ckpt: Path, r: int) -> dict[str, Any]:
        cands = self._candidates(d)
        items = [(f"{step.id}|{i}", step.ground_prompt(sample)) for i, (step, sample, _) in enumerate(cands)]
        grounder = self.backend(grounder_ckpt, f"grounder-iter{r - 1}")
        try:
            regenerate_actions(grounder, items, d / "regen.jsonl", self.m.regen_temperature, self.m.regen_top_p,
                               self.m.max_new_tokens, seed=self.m.seed + 2000 * r)
        finally:
            grounder.close()
        return {"candidates": len(items)}

    def _make_critic(self) -> Critic:
        c = self.m.critic
        if c.kind == "execution":
            return ExecutionCritic({name: self.env(name) for name in {ex.source for ex in self.by_id.values()}})
        if c.kind == "none":
            return NoCritic()
        if c.kind == "llm":
            backend = open_backend(c.model or self.base, None, dtype=self.m.backend_dtype, backend=c.backend,
                                   label=c.model or "base")
            lists = {}
            for ex in self.by_id.values():
                text = ex.header.split("The available action list is ", 1)[-1].strip()
                lists[ex.source] = " ".join(text.split("\n"))
            return LLMCritic(backend, lists, include_gold=c.include_gold, on_unparsed=c.on_unparsed,
                             max_new_tokens=c.max_new_tokens)
        raise ValueError(f"unknown critic {c.kind!r}; choose execution, llm or none")

    def _critic(self, d: Path) -> dict[str, Any]:
        cands = self._candidates(d)
        regen = {r["key"]: r["actions"] for r in read_jsonl(d / "regen.jsonl")}
        todo = []
        for i, (step, sample, _) in enumerate(cands):
            ex = self.by_id[step.example_id]
            if step.turn is None:
                subgoals = split_subgoal_line(step.subgoal_text(sample))
            else:
                subgoals = ex.subgoals[: step.turn] + [step.subgoal_text(sample)]
            todo.append((step, sample, Candidate(ex, step.turn, subgoals, regen.get(f"{step.id}|{i}", ""))))
        critic = self._make_critic()
        try:
            verdicts = critic.judge([c for _, _, c in todo])
        finally:
            if isinstance(critic, LLMCritic):
                critic.backend.close()
        counts: dict[str, int] = {}
        records, log_rows = [], []
        for (step, sample, cand), v in zip(todo, verdicts):
            counts[v.status] = counts.get(v.status, 0) + 1
            log_rows.append({"step_id": step.id, "sample": sample, "actions": cand.actions, "status": v.status,
                             "train_actions": v.actions, "corrected_subgoals": v.subgoals, "raw": v.raw})
            if v.actions:
                records.append(grounder_record(cand.example, step, sample, v.actions,
                                               v.subgoals if v.status == "corrected" else None))
        write_jsonl(d / "critic.jsonl", log_rows)
        initial = read_jsonl(self.run.sub("data", "ground_sft.jsonl"))
        if self.m.mix == "one_to_one":
            rng = random.Random(self.m.seed)
            mixed = rng.sample(initial, min(len(records), len(initial)))
        elif self.m.mix == "concat":
            mixed = initial
        else:
            raise ValueError(f"unknown mix {self.m.mix!r}; choose one_to_one or concat")
        write_jsonl(d / "grounder_sft.jsonl", records + mixed)
        self.run.record_data(d / "grounder_sft.jsonl")
        n = max(1, len(verdicts))
        return {"judged": len(verdicts), "critic_counts": counts, "critic_acceptance": counts.get("accepted", 0) / n,
                "corrected_records": len(records), "initial_records_mixed": len(mixed), "critic": critic.config()}

    def _dev_nll(self, planner_ckpt: Path, grounder_ckpt: Path) -> float | None:
        """Same sampling seed at every measurement (common random numbers across iterations)."""
        if not self.dev or self.m.dev_reward_k <= 0:
            return None
        planner = self.backend(planner_ckpt, "planner")
        grounder = self.backend(grounder_ckpt, "grounder")
        try:
            return dev_expected_nll(planner, grounder, self.dev, self.m.formulation, self.m.dev_reward_k,
                                    self.m.temperature, self.m.top_p, self.m.max_new_tokens,
                                    seed=self.m.seed + 7, eos=_eos(grounder) if self.m.reward_eos else None)
        finally:
            planner.close()
            grounder.close()

    def _dev(self, planner_ckpt: Path, grounder_ckpt: Path, with_nll: bool, iteration: int = 0) -> dict[str, Any]:
        if not self.m.dev_eval or not self.dev:
            return {}
        planner = self.backend(planner_ckpt, "planner")
        grounder = self.backend(grounder_ckpt, "grounder")
        try:
            out = dev_accuracy(planner, grounder, self.dev, {n: self.env(n) for n in {e.source for e in self.dev}},
                               max_new_tokens=self.m.max_new_tokens,
                               dump=self.run.sub("moat", f"iter_{iteration}", "dev_trajectories.jsonl"))
        finally:
            planner.close()
            grounder.close()
        if with_nll:
            out["dev_nll"] = self._dev_nll(planner_ckpt, grounder_ckpt)
        return out

    # -- log -----------------------------------------------------------------------------------
    def log_rows(self) -> list[dict[str, Any]]:
        run = self.run
        rows = []
        cold = run.metrics("moat_iter0_dev")
        if cold:
            rows.append({"iteration": 0, "dev_accuracy": cold.get("dev_accuracy"), "dev_nll_after_sft": cold.get("dev_nll")})
        for r in range(1, self.m.iterations + 1):
            p = f"moat_iter{r}_"
            if not run.done(p + "reward"):
                break
            row: dict[str, Any] = {"iteration": r, **run.metrics(p + "reward")}
            crit = run.metrics(p + "critic")
            row.update({k: crit.get(k) for k in ("critic_acceptance", "critic_counts", "corrected_records")})
            dpo = run.metrics(p + "dpo")
            row.update({"dpo_loss": dpo.get("train_loss"), "dpo_reward_accuracy": dpo.get("last_reward_accuracy")})
            row["dev_nll_start"] = rows[-1].get("dev_nll_after_sft") if rows else None
            row["dev_nll_after_dpo"] = run.metrics(p + "dev_after_dpo").get("dev_nll")
            dev = run.metrics(p + "dev")
            row["dev_nll_after_sft"] = dev.get("dev_nll")
            row["dev_accuracy"] = dev.get("dev_accuracy")
            row["stage_seconds"] = {k[len(p):]: v.get("seconds") for k, v in run.data["stages"].items()
                                    if k.startswith(p) and "seconds" in v}
            rows.append(row)
        return rows

    def write_log(self) -> None:
        if not self.run.is_main:
            return
        rows = self.log_rows()
        path = self.run.sub("moat", "log.jsonl")
        write_jsonl(path, rows)
        write_json_atomic(self.run.sub("moat", "log.json"), rows)
        plot_log(rows, self.run.sub("moat", "rewards.png"), title=f"MOAT ({self.cfg.preset} preset)")
        log.info("MOAT log: %s", json.dumps(rows[-1], default=str) if rows else "empty")
