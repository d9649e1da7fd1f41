"""Shared fixtures for the optics tests: one CPU thread (the machine is shared), restored after."""

from __future__ import annotations

import pytest
import torch

from photonic_dat.optics import Grid


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def d2nn_grid() -> Grid:
    """CPU-sized D2NN plane: 64 x 64 neurons, pitch 0.4 mm, wavelength 0.75 mm (Lin 2018)."""
    return Grid(64, 0.4e-3, 0.75e-3)
