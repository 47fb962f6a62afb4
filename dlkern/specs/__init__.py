"""One declaration per public function, from which everything that exercises it is
derived.

Design note.  A kernel is known by its reference (dlkern/reference/<family>.py, the
math) and its native binding (dlkern/_native/<family>.pyx, found by name); everything
else the project knows about it is here, in dlkern/specs/<family>.py, as one ``Spec``
per public function: the samples that ``dlkern check`` and tests/test_native.py run,
one valid call (the hardening tests), the bad inputs and their messages
(tests/test_errors.py), the finite-difference cases (tests/test_gradients.py), the
fuzz strategy (tests/test_fuzz.py), the benchmark shapes with the idiomatic NumPy
and PyTorch peers (bench/sweep.py) and the tolerance.  The drivers are generic: a new
family adds its file here and is checked, fuzzed and benchmarked with no other edit,
and tests/test_specs.py fails while a public function has no spec.

    from dlkern.specs import SPECS
    SPECS["conv2d"].samples(rng, np.float32)     # (label, run) pairs
"""
import importlib
import pkgutil

from ._base import (DTYPES, TOLERANCE, Case, Grad, Spec, as_arrays, compare,  # noqa: F401
                    noncontiguous, shifted, sprinkle, view)


def _collect():
    specs = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f".{info.name}", __name__)
        for spec in module.SPECS:
            if spec.name in specs:
                raise RuntimeError(f"dlkern.specs: {spec.name} is declared twice")
            specs[spec.name] = spec
    return specs


SPECS = _collect()
