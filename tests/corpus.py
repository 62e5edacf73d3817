"""Where the real-world manifest corpus is, and the skip for a clone that has none.

The corpus (YAML from three public GitOps/Helm repositories, pinned commits) is read in place,
never copied into the project. It is looked for, in order: `$RELEASE_TRAIN_CORPUS`, the
`shared/corpus/manifests` folder beside this checkout (as this project's CI has it), and
`.cache/corpus/manifests`, where `scripts/fetch-corpus.sh` builds it for anyone with network
access.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _where() -> Path:
    named = os.environ.get("RELEASE_TRAIN_CORPUS")
    candidates = [Path(named)] if named else []
    candidates.append(ROOT.parent / "shared" / "corpus" / "manifests")
    candidates.append(ROOT / ".cache" / "corpus" / "manifests")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    return candidates[0]


CORPUS = _where()
MISSING = (
    f"the real-world manifest corpus is not there ({CORPUS}): build it with "
    "`bash scripts/fetch-corpus.sh` (fetches three public repositories at pinned commits) "
    "or set RELEASE_TRAIN_CORPUS to a copy"
)
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=MISSING)
