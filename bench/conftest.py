"""pytest-benchmark suite over the WORKLOADS.md shapes.

    pytest bench/ --benchmark-only --benchmark-group-by=param:workload,param:threads

Each test times one contender; for ratios measured in one interleaved run (what
docs/BENCHMARKS.md quotes) run `python bench/ratios.py`.
"""
import pytest

try:
    import torch  # noqa: F401
    HAVE_TORCH = True
except ImportError:
    HAVE_TORCH = False


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "torch" in item.nodeid and not HAVE_TORCH:
            item.add_marker(pytest.mark.skip(reason="PyTorch not installed "
                                             "(pip install torch==2.13.0)"))
