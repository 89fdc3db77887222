"""Quiet command-line output: the harness's own progress bar and summary, not its dependencies' chatter.

Why: a ``harness eval`` prints one rich progress bar per run; transformers' "Loading weights" and
"Converting and de-quantizing GGUF tensors" tqdm bars, its advisory log lines and dependencies'
FutureWarnings (``is_gradient_checkpointing`` from peft) tore that bar apart without telling the
user anything actionable. ``harness --verbose`` keeps all of it.

Must run before transformers/tqdm are imported: tqdm reads ``TQDM_DISABLE`` when it is imported
(the GGUF bar is a plain ``tqdm.auto`` bar, out of reach of transformers' own switch) and
transformers reads ``TRANSFORMERS_VERBOSITY`` on import. Variables the user set are never touched.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import warnings

OWN_PACKAGES = ("harness", "agents", "envs", "training", "leaderboards")
QUIET_ENV = {
    "TQDM_DISABLE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    "TOKENIZERS_PARALLELISM": "false",  # else a warning at the first fork after a tokenizer ran
}
LIBRARY_LOGGERS = ("transformers", "peft", "trl", "accelerate", "datasets", "huggingface_hub", "httpx", "httpcore",
                   "urllib3", "filelock", "torch", "bm25s", "numexpr")


def dependency_module_pattern() -> str:
    """A ``warnings`` module regex matching every module outside this distribution's packages."""
    return rf"(?!(?:{'|'.join(OWN_PACKAGES)})(?:\.|$))"


def quiet_libraries(verbose: bool = False) -> dict[str, str]:
    """Silence dependency progress bars, advisory logs and Future/Deprecation warnings unless
    ``verbose``; returns the environment variables it set."""
    if verbose:
        for name in LIBRARY_LOGGERS:
            logging.getLogger(name).setLevel(logging.NOTSET)
        if "transformers" in sys.modules:
            importlib.import_module("transformers.utils.logging").set_verbosity_info()
        return {}
    chosen = {k: v for k, v in QUIET_ENV.items() if k not in os.environ}
    os.environ.update(chosen)
    pattern = dependency_module_pattern()
    for category in (FutureWarning, DeprecationWarning, PendingDeprecationWarning):
        warnings.filterwarnings("ignore", category=category, module=pattern)
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    if "transformers" in sys.modules:  # imported already (a library caller): switch it off directly
        tlog = importlib.import_module("transformers.utils.logging")
        tlog.set_verbosity_error()
        tlog.disable_progress_bar()
    return chosen
