"""One valid small call of every public function (its spec's `valid`), shared by the
hardening tests (tests/test_fuzz_invalid.py, tests/test_hardening.py)."""
from dlkern.specs import SPECS

VALID = {name: spec.valid() for name, spec in SPECS.items()}
