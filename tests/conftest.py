import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _threads():
    # tests are small: one thread avoids oversubscription on a shared 2-core CI machine
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def mnist_small():
    """A small seeded MNIST split shared by behavioural tests."""
    from photonic_dat.data import load_dataset

    return load_dataset("mnist", val_size=500, seed=0, train_subset=2000, test_subset=1000)
