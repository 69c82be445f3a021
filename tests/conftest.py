from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import keatingcore


def pytest_report_header(config):
    info = keatingcore.build_info()
    return (f"keatingcore {info['version']}: OpenMP {info['openmp']} "
            f"({info['num_threads']} threads), CUDA {info['cuda_status']}, "
            f"numpy {info['numpy']}, scipy {info['scipy']}, torch {info['torch']}")


@pytest.fixture(scope="session")
def archives():
    """``tests/archives.py``: writers for small CIFAR-10 files, real and hostile.

    Loaded by path because ``--import-mode=importlib`` keeps ``tests/`` off sys.path.
    """
    path = Path(__file__).with_name("archives.py")
    spec = importlib.util.spec_from_file_location("keatingcore_test_archives", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
