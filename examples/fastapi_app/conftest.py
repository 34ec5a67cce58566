"""Make the example importable as a top-level module, as ``uvicorn signup_app:app`` sees it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = str(Path(__file__).parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)


@pytest.fixture(autouse=True)
def empty_outbox() -> Iterator[None]:
    import signup_app

    signup_app.outbox.clear()
    yield
    signup_app.outbox.clear()
