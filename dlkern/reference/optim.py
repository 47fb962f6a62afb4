"""Optimizer steps, seed section 2, in plain NumPy.

Every step updates p (and its state) in place and returns None.  p, g and the state
are each one array or a list of arrays; a list is updated array by array.  With
weight_decay = λ > 0 the L2 term λp is added to the gradient first (seed section 7's
"L2 weight decay"), except for Adam with decoupled=True (AdamW), which scales p by
(1 − ηλ) before the Adam update.
"""
import numpy as np

from .. import _checks


def _l2(g, p, weight_decay):
    return g + weight_decay * p if weight_decay else g


def sgd_step(p, g, lr, weight_decay=0.0):
    """SGD, seed section 2: θ_k = θ_{k−1} − η ∇L (g is the mini-batch mean gradient).

    Returns
    -------
    None: p is updated in place (p and g may also be lists of arrays of
    one dtype: one fused step over all of them)."""
    _checks.optimizer_hparams("sgd_step", lr=lr, weight_decay=weight_decay)
    lr, weight_decay = float(lr), float(weight_decay)   # a huge int stays a float
    ps, gs = _checks.optimizer_arrays("sgd_step", p, g)
    for p, g in zip(ps, gs):
        p -= lr * _l2(g, p, weight_decay)


def momentum_step(p, g, v, lr, beta=0.9, weight_decay=0.0):
    """Momentum, seed section 2: v_k = β v_{k−1} + η ∇L_k,  θ_k = θ_{k−1} − v_k.

    Returns
    -------
    None: p and v are updated in place (p and g may also be lists of arrays of
    one dtype: one fused step over all of them)."""
    _checks.optimizer_hparams("momentum_step", lr=lr, weight_decay=weight_decay, beta=beta)
    lr, weight_decay, beta = float(lr), float(weight_decay), float(beta)
    ps, gs, vs = _checks.optimizer_arrays("momentum_step", p, g, v=v)
    for p, g, v in zip(ps, gs, vs):
        g = _l2(g, p, weight_decay)
        v[...] = beta * v + lr * g
        p -= v


def adagrad_step(p, g, G, lr, eps=1e-8, weight_decay=0.0):
    """AdaGrad, seed section 2: G_k = G_{k−1} + ∇L ⊙ ∇L,  θ_k = θ_{k−1} − η ∇L / (√G_k + ε).

    Returns
    -------
    None: p and G are updated in place (p and g may also be lists of arrays of
    one dtype: one fused step over all of them)."""
    _checks.optimizer_hparams("adagrad_step", lr=lr, weight_decay=weight_decay, eps=eps)
    lr, weight_decay, eps = float(lr), float(weight_decay), float(eps)
    ps, gs, Gs = _checks.optimizer_arrays("adagrad_step", p, g, G=G)
    for p, g, G in zip(ps, gs, Gs):
        g = _l2(g, p, weight_decay)
        G += g * g
        p -= lr * g / (np.sqrt(G) + eps)


def rmsprop_step(p, g, G, lr, beta=0.9, eps=1e-8, weight_decay=0.0):
    """RMSProp, seed section 2: G_k = β G_{k−1} + (1 − β) ∇L²,  θ_k = θ_{k−1} − η ∇L / (√G_k + ε).

    Returns
    -------
    None: p and G are updated in place (p and g may also be lists of arrays of
    one dtype: one fused step over all of them)."""
    _checks.optimizer_hparams("rmsprop_step", lr=lr, weight_decay=weight_decay, eps=eps,
                              beta=beta)
    lr, weight_decay, eps, beta = float(lr), float(weight_decay), float(eps), float(beta)
    ps, gs, Gs = _checks.optimizer_arrays("rmsprop_step", p, g, G=G)
    for p, g, G in zip(ps, gs, Gs):
        g = _l2(g, p, weight_decay)
        G[...] = beta * G + (1 - beta) * g * g
        p -= lr * g / (np.sqrt(G) + eps)


def adam_step(p, g, m, v, step, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
              weight_decay=0.0, decoupled=False):
    """Adam, seed section 2, at step k = `step` ≥ 1:

    m_k = β₁ m_{k−1} + (1 − β₁) ∇L,   v_k = β₂ v_{k−1} + (1 − β₂) ∇L²,
    m̂_k = m_k / (1 − β₁^k),           v̂_k = v_k / (1 − β₂^k),
    θ_k = θ_{k−1} − η m̂_k / (√v̂_k + ε).

    decoupled=True is AdamW: θ is first scaled by (1 − ηλ) and λ does not enter ∇L.

    Returns
    -------
    None: p, m and v are updated in place (p and g may also be lists of arrays of
    one dtype: one fused step over all of them)."""
    _checks.optimizer_hparams("adam_step", lr=lr, weight_decay=weight_decay, eps=eps,
                              betas=[("beta1", beta1), ("beta2", beta2)], step=step)
    lr, weight_decay, eps = float(lr), float(weight_decay), float(eps)
    beta1, beta2 = float(beta1), float(beta2)
    ps, gs, ms, vs = _checks.optimizer_arrays("adam_step", p, g, m=m, v=v)
    for p, g, m, v in zip(ps, gs, ms, vs):
        if decoupled:
            if weight_decay:
                p *= 1 - lr * weight_decay
        else:
            g = _l2(g, p, weight_decay)
        m[...] = beta1 * m + (1 - beta1) * g
        v[...] = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1 ** step)
        v_hat = v / (1 - beta2 ** step)
        p -= lr * m_hat / (np.sqrt(v_hat) + eps)


def clip_grad_norm(grads, max_norm, eps=1e-6):
    """Scale the gradients in place so that their joint L2 norm ‖(g_1, …, g_n)‖ is at
    most max_norm: with N = √(Σ_i Σ g_i²) (summed in double), every g_i is multiplied
    by max_norm / (N + eps) when that is below 1 (PyTorch's clip_grad_norm_ rule).
    Recurrent training needs it (seed section 4: δ_t is multiplied by Wᵀ at every step and
    can grow without bound).

    Returns
    -------
    N, the norm before clipping, as a Python float; grads (an array or a list of
    arrays) are scaled in place."""
    fn = "clip_grad_norm"
    _checks.real(fn, "max_norm", max_norm, low=0.0, low_open=True)
    _checks.real(fn, "eps", eps, low=0.0)
    (gs,) = _checks.inplace_arrays(fn, grads)
    total = float(np.sqrt(sum(np.sum(g.astype(np.float64) ** 2) for g in gs)))
    factor = max_norm / (total + eps)
    if factor < 1:
        for g in gs:
            g *= g.dtype.type(factor)
    return total
