"""Shared fixtures: the device parameter (CPU always, GPU when CuPy sees one) and seeding."""

import os

import numpy as np
import pytest

import neurona as nr
from neurona import backend

os.environ.setdefault("MPLBACKEND", "Agg")

try:  # keep the torch oracle from fighting the test workers for the two cores
    import torch

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover
    torch = None

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Parallel workers each get one BLAS thread: two workers with two threads each on two cores
    # make small matrix products stall for tens of milliseconds.
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    backend.set_num_threads(1)


def pytest_collection_modifyitems(config, items):
    if backend.gpu_available():
        return
    reason = f"GPU tests need CuPy and an NVIDIA GPU: {backend.gpu_unavailable_reason()}"
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(params=["cpu", pytest.param("gpu", marks=pytest.mark.gpu)])
def device(request):
    """Run a test once on the CPU and once on the GPU (skipped without one)."""
    previous = nr.get_device()
    nr.set_device(request.param)
    yield request.param
    nr.set_device(previous)


@pytest.fixture(autouse=True)
def _seed():
    nr.manual_seed(0)
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
