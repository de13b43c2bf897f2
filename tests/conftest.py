from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CORPUS_DIR = REPO.parent / "shared" / "data" / "tang"


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    if not (CORPUS_DIR / "poet.tang.0.json").exists():
        pytest.skip(f"Tang corpus not found at {CORPUS_DIR} (it lies in ../shared beside the repo)")
    return CORPUS_DIR
