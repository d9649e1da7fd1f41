"""Shared fixtures of the SEPN tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _single_thread() -> Iterator[None]:
    """Run the (tiny) SEPN workloads on one intra-op thread.

    The tensors here are small, so a second thread gains nothing, while on a shared 2-core
    machine the thread pool's synchronisation makes runs up to ~20x slower under load.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
