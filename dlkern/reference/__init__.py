"""The pure-NumPy reference: every public function, written line by line from
SEED-MATH.md (sections cited in each docstring).  Slow on purpose; it is the
specification and the test oracle of the native kernels."""
from .optim import sgd_step, momentum_step, adagrad_step, rmsprop_step, adam_step

__all__ = [
    "sgd_step", "momentum_step", "adagrad_step", "rmsprop_step", "adam_step",
]
