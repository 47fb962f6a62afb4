"""Where dlkern's GEMM engine lives.

The engine is OpenBLAS from the ``scipy-openblas32`` wheel (BSD, ~8 MB, built with
runtime CPU dispatch); docs/METHOD.md ("GEMM engine") has the measurements behind the choice.
To try another CBLAS, change ``library()`` — nothing else knows which one it is.
"""
import os


def library():
    """(path, symbol prefix) of the CBLAS that csrc/gemm.c loads."""
    import scipy_openblas32
    path = os.path.join(scipy_openblas32.get_lib_dir(),
                        scipy_openblas32.get_library(fullname=True))
    return path, "scipy_"
