"""Build dlkern's native extensions: one Cython module per kernel family, each
compiled with the C file of its family (csrc/<family>.c) and the shared helpers.

Environment switches (all optional):
  DLKERN_NO_OPENMP=1     build without OpenMP (serial kernels)
  DLKERN_NATIVE_ARCH=1   compile for this CPU only (-march=native) instead of the
                         portable build that picks AVX-512/AVX2 loops at run time
  DLKERN_SANITIZE=1      AddressSanitizer + UndefinedBehaviorSanitizer build (tools/sanitize.sh)
"""
import glob
import os
import sys
import tempfile
import textwrap

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

# family -> C files (in csrc/) besides the runtime; families that multiply matrices add gemm.c;
# a family split by algorithm (conv) is a folder of them.  A binding not listed here
# (dlkern/_native/<family>.pyx) is built with csrc/<family>.c and csrc/<family>_*.c.
FAMILIES = {
    "common": [],
    "gemm": ["gemm.c"],
    "optim": ["optim.c"],
    "pool": ["pool.c", "pool_avx512.c"],
    "norm": ["norm.c"],
    "dense": ["dense.c", "gemm.c"],
    "conv": sorted(glob.glob("conv/*.c", root_dir="csrc")) + ["gemm.c"],
    "rnn": ["rnn.c", "gemm.c"],
    "attention": ["attention.c", "attention_avx512.c", "attention_avx2.c", "gemm.c"],
    "losses": ["losses.c"],
}
for _pyx in sorted(glob.glob("*.pyx", root_dir="dlkern/_native")):
    _family = _pyx[:-4]
    FAMILIES.setdefault(_family, [f"{_family}.c"] + sorted(
        glob.glob(f"{_family}_*.c", root_dir="csrc")))


# The runtime (csrc/dlk.c: scratch cache, CPU probe, Ctrl-C watch) is linked into
# common alone; every other extension links the forwarding entries and its own Σ loop.
RUNTIME = {True: ["csrc/dlk.c"], False: ["csrc/dlk_link.c", "csrc/dlk_sum.c"]}


def flag(name):
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


class BuildExt(build_ext):
    """Adds OpenMP when the compiler supports it (checked by compiling a test
    program), and loudly says so when it does not; builds the extensions in parallel,
    one job per core, unless told otherwise (--parallel / -j)."""

    def finalize_options(self):
        super().finalize_options()
        if not self.parallel:
            self.parallel = os.cpu_count() or 1

    def _compiles(self, code, extra_args):
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "probe.c")
            with open(src, "w") as f:
                f.write(code)
            try:
                objs = self.compiler.compile([src], output_dir=tmp, extra_postargs=extra_args)
                self.compiler.link_executable(objs, "probe", output_dir=tmp,
                                              extra_postargs=extra_args)
                return True
            except Exception:
                return False

    def build_extensions(self):
        openmp = []
        if flag("DLKERN_NO_OPENMP"):
            print("dlkern: DLKERN_NO_OPENMP set; building serial kernels", file=sys.stderr)
        elif self._compiles(textwrap.dedent("""
                #include <omp.h>
                int main(void) { int n = 0;
                #pragma omp parallel reduction(+:n)
                n += 1; return n > 0 ? 0 : 1; }"""), ["-fopenmp"]):
            openmp = ["-fopenmp"]
        else:
            print("\n" + "!" * 72 + "\ndlkern: the C compiler does not support OpenMP; "
                  "building SERIAL kernels (one thread).\n" + "!" * 72 + "\n",
                  file=sys.stderr)
        arch = ["-march=native"] if flag("DLKERN_NATIVE_ARCH") else []
        sanitize = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-g"] \
            if flag("DLKERN_SANITIZE") else []
        for ext in self.extensions:
            ext.extra_compile_args += openmp + arch + sanitize
            ext.extra_link_args += openmp + sanitize
            if arch:
                ext.define_macros.append(("DLK_NO_CLONES", "1"))
        super().build_extensions()


def extensions():
    exts = []
    for family, c_files in FAMILIES.items():
        exts.append(Extension(
            f"dlkern._native.{family}",
            sources=[f"dlkern/_native/{family}.pyx"] + RUNTIME[family == "common"]
                    + [f"csrc/{c}" for c in c_files],
            include_dirs=["csrc", np.get_include()],
            # the headers too, so that editing one rebuilds (every family: simpler than
            # tracking which file includes which)
            depends=sorted(glob.glob("csrc/*.h") + glob.glob("csrc/*/*.h")),
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            # -fno-math-errno lets GCC vectorise sqrt; -fno-trapping-math lets it turn
            # the selects of dlk_math.h's exp and tanh into vector blends without AVX-512
            # masks (with traps assumed, the exp loop stayed scalar on AVX2: 3.5 ns an
            # element against 0.7, AMD EPYC Zen 3).  Neither changes a result; no
            # -ffast-math: NaN and inf must behave as in the reference.
            extra_compile_args=["-O3", "-fno-math-errno", "-fno-trapping-math",
                                "-Wno-unused-function"],
            extra_link_args=[],
            libraries=["dl", "m"],
        ))
    # Bounds and wrap-around checks stay on: the bindings index Python tuples and
    # lists (shape[-1] with wraparound off reads out of bounds), and every hot loop
    # is in csrc/, so they cost nothing measurable.
    return cythonize(exts, language_level=3, compiler_directives={
        "boundscheck": True, "wraparound": True, "cdivision": True,
        "embedsignature": True,
    })


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
