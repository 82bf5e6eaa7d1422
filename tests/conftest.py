"""Shared fixtures: the device parameter (CPU always, GPU when CuPy sees one) and seeding.

``--device strict`` runs every test with the 'gpu' device backed by neurona's strict CPU
stand-in for CuPy (host/device mixing raises); ``--device gpu`` runs them on CuPy.
"""

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


def pytest_addoption(parser):
    parser.addoption(
        "--device", choices=("cpu", "strict", "gpu"), default="cpu",
        help="default device for every test: cpu (NumPy), strict (the CPU stand-in for CuPy that refuses "
             "host/device mixing, see neurona/_strict.py) or gpu (CuPy; every test is skipped without a GPU)",
    )


def _on_host(check):
    """An np.testing assertion that first moves device arrays to the host (the test's explicit transfer)."""

    def host_check(*args, **kwargs):
        args = [backend.to_numpy(a) if backend.device_of(a) == "gpu" else a for a in args]
        return check(*args, **kwargs)

    return host_check


def pytest_configure(config):
    config.addinivalue_line("markers", "cpu_only(reason): host-only by nature; skipped with --device strict/gpu")
    if config.getoption("--device") == "strict":
        backend.use_strict_device()
    if config.getoption("--device") != "cpu":  # tests compare values on the host, as cupy.testing does
        for name in ("assert_allclose", "assert_array_equal", "assert_equal", "assert_array_almost_equal",
                     "assert_array_less", "assert_almost_equal"):
            setattr(np.testing, name, _on_host(getattr(np.testing, name)))


def pytest_report_header(config):
    return f"neurona default device: {config.getoption('--device')}"


def pytest_collection_modifyitems(config, items):
    if config.getoption("--device") == "gpu" and not backend.gpu_available():
        skip_all = pytest.mark.skip(reason=f"--device gpu: {backend.gpu_unavailable_reason()}")
        for item in items:
            item.add_marker(skip_all)
        return
    if config.getoption("--device") != "cpu":
        for item in items:
            marker = item.get_closest_marker("cpu_only")
            if marker is not None:
                why = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
                item.add_marker(pytest.mark.skip(reason=f"host-only by nature: {why}"))
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
def _default_device(request):
    """With --device strict or gpu, every test creates its tensors and parameters on the 'gpu' device."""
    if request.config.getoption("--device") == "cpu":
        yield
        return
    previous = nr.get_device()
    nr.set_device("gpu")
    yield
    nr.set_device(previous)


@pytest.fixture(autouse=True)
def _seed(_default_device):
    nr.manual_seed(0)
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
