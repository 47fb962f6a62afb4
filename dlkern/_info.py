"""dlkern.info(): what this build is and what it runs on."""


def info_dict():
    from . import __version__, _backend
    out = {
        "version": __version__,
        "backend": _backend.get_backend(),
        "threads": _backend.get_num_threads(),
    }
    out["threads_from"] = _backend._default_source()
    try:
        from ._native import OPENMP_WAIT, common, gemm
        from . import native
        out["native"] = "built"
        out["openmp"] = common.openmp_enabled()
        out["openmp_wait"] = OPENMP_WAIT
        out["cores_shared"] = common.cores_shared()
        out["isa"] = common.isa_name()
        out["avx512_loops"] = common.avx512_loops()
        out["avx2_loops"] = common.avx2_loops()
        out["blas"] = gemm.config()
        out["blas_library"] = gemm.library_path()
        out["blas_threads"] = gemm.get_blas_threads()
        out["native_kernels"] = len(native.implemented())
        out["reference_only"] = [n for n in native.__all__ if n not in native.implemented()]
    except ImportError as exc:
        out["native"] = f"NOT BUILT ({exc})"
    return out


def info(file=None):
    """Print the version, backend, threads, OpenMP, instruction set and BLAS in use."""
    import sys
    d = info_dict()
    file = file or sys.stdout
    width = max(len(k) for k in d)
    for k, v in d.items():
        if isinstance(v, list):
            v = ", ".join(v) if v else "none"
        print(f"{k:<{width}}  {v}", file=file)
