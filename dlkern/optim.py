"""Optimizers over a model's parameters (seed section 2), each step one fused call for
every parameter at once (dlkern.sgd_step … dlkern.adam_step on lists), plus the
gradient-norm clip that recurrent training needs.

    opt = dlkern.optim.Adam(model, lr=1e-3)
    loss, g = dlkern.losses.cross_entropy(model.forward(x), y)
    model.backward(g)
    opt.step()
"""
import numpy as np

from . import ops
from .ops import clip_grad_norm  # noqa: F401

__all__ = ["Optimizer", "SGD", "Momentum", "AdaGrad", "RMSProp", "Adam", "AdamW",
           "clip_grad_norm"]


class Optimizer:
    """Base: holds the model, the per-parameter state and the step count."""

    n_states = 0

    def __init__(self, model, lr, weight_decay=0.0):
        if not (hasattr(model, "parameters") and hasattr(model, "gradients")):
            raise TypeError(f"{type(self).__name__}: model must have parameters() and "
                            f"gradients(), got {type(model).__name__}")
        self.model, self.lr, self.weight_decay = model, lr, weight_decay
        self.names = list(model.parameters())
        params = model.parameters()
        self.state = [[np.zeros_like(params[n]) for n in self.names]
                      for _ in range(self.n_states)]
        self.steps = 0

    def _lists(self):
        params, grads = self.model.parameters(), self.model.gradients()
        return [params[n] for n in self.names], [grads[n] for n in self.names]

    def step(self):
        self.steps += 1
        p, g = self._lists()
        self._update(p, g)

    def zero_grad(self):
        for g in self.model.gradients().values():
            g[...] = 0

    def state_dict(self):
        """The step count and copies of the per-parameter state ("<slot>.<name>")."""
        out = {"steps": np.array(self.steps)}
        for i, slot in enumerate(self.state):
            out.update({f"{i}.{n}": s.copy() for n, s in zip(self.names, slot)})
        return out

    def load_state_dict(self, state):
        want = {"steps"} | {f"{i}.{n}" for i in range(self.n_states) for n in self.names}
        if set(state) != want:
            raise ValueError(f"{type(self).__name__}.load_state_dict: expected keys "
                             f"{sorted(want)}, got {sorted(state)}")
        for i, slot in enumerate(self.state):
            for n, s in zip(self.names, slot):
                if state[f"{i}.{n}"].shape != s.shape:
                    raise ValueError(f"{type(self).__name__}.load_state_dict: {i}.{n} has "
                                     f"shape {state[f'{i}.{n}'].shape}, expected {s.shape}")
                s[...] = state[f"{i}.{n}"]
        self.steps = int(state["steps"])

    def _update(self, p, g):
        raise NotImplementedError


class SGD(Optimizer):
    """θ ← θ − η ∇L (+ L2 weight decay)."""

    def _update(self, p, g):
        ops.sgd_step(p, g, self.lr, self.weight_decay)


class Momentum(Optimizer):
    """v ← βv + η∇L, θ ← θ − v (seed section 2)."""
    n_states = 1

    def __init__(self, model, lr, beta=0.9, weight_decay=0.0):
        super().__init__(model, lr, weight_decay)
        self.beta = beta

    def _update(self, p, g):
        ops.momentum_step(p, g, self.state[0], self.lr, self.beta, self.weight_decay)


class AdaGrad(Optimizer):
    n_states = 1

    def __init__(self, model, lr, eps=1e-8, weight_decay=0.0):
        super().__init__(model, lr, weight_decay)
        self.eps = eps

    def _update(self, p, g):
        ops.adagrad_step(p, g, self.state[0], self.lr, self.eps, self.weight_decay)


class RMSProp(Optimizer):
    n_states = 1

    def __init__(self, model, lr, beta=0.9, eps=1e-8, weight_decay=0.0):
        super().__init__(model, lr, weight_decay)
        self.beta, self.eps = beta, eps

    def _update(self, p, g):
        ops.rmsprop_step(p, g, self.state[0], self.lr, self.beta, self.eps, self.weight_decay)


class Adam(Optimizer):
    n_states = 2
    decoupled = False

    def __init__(self, model, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
        super().__init__(model, lr, weight_decay)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps

    def _update(self, p, g):
        ops.adam_step(p, g, self.state[0], self.state[1], self.steps, self.lr, self.beta1,
                      self.beta2, self.eps, self.weight_decay, self.decoupled)


class AdamW(Adam):
    """Adam with decoupled weight decay: θ ← θ(1 − ηλ) before the Adam update."""
    decoupled = True

    def __init__(self, model, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
        super().__init__(model, lr, beta1, beta2, eps, weight_decay)
