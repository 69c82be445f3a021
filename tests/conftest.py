from __future__ import annotations

import keatingcore


def pytest_report_header(config):
    info = keatingcore.build_info()
    return (f"keatingcore {info['version']}: OpenMP {info['openmp']} "
            f"({info['num_threads']} threads), CUDA {info['cuda_status']}, "
            f"numpy {info['numpy']}, scipy {info['scipy']}, torch {info['torch']}")
