"""Principal component analysis (seed section 6).

- `eig2x2(a, b, c)`: the seed's closed form for the 2 × 2 scatter matrix [[a, b], [b, c]].
- `PCA(n_components)`: scikit-learn's conventions (X is n_samples × n_features), by the
  SVD of the centred data; components sorted by explained variance, each with its
  largest-magnitude entry positive (a deterministic sign).
- `reconstruct(A, rank)`: the seed's B + C Cᵀ (A − B) for A laid out d × n.
"""
import math
import numbers

import numpy as np

from . import _checks


def eig2x2(a, b, c):
    """Eigen-decomposition of A = [[a, b], [b, c]] (seed section 6):
    λ₁,₂ = ((a + c) ± √((a − c)² + 4b²)) / 2, λ₁ ≥ λ₂, and v₁ = u₁ / ‖u₁‖ with
    u₁ = (λ₁ − c, b).  For b = 0 the seed's u₁ can vanish; then (b, λ₁ − a) — the
    other row of (A − λ₁I) turned — is used, and for a = c, b = 0 (equal eigenvalues,
    every vector is an eigenvector) v₁ = (1, 0).  v₁'s largest entry is made positive.
    Returns (lambda1, lambda2, v1) with v1 a float64 array of 2."""
    fn = "eig2x2"
    a, b, c = (_checks.real(fn, name, x) for name, x in (("a", a), ("b", b), ("c", c)))
    root = math.hypot(a - c, 2 * b)
    l1, l2 = (a + c + root) / 2, (a + c - root) / 2
    u = np.array([l1 - c, b])
    alt = np.array([b, l1 - a])
    if np.linalg.norm(alt) > np.linalg.norm(u):       # the better-conditioned row
        u = alt
    n = np.linalg.norm(u)
    v1 = u / n if n > 0 else np.array([1.0, 0.0])
    if v1[np.argmax(np.abs(v1))] < 0:
        v1 = -v1
    return l1, l2, v1


def _fix_signs(components):
    idx = np.argmax(np.abs(components), axis=1)
    signs = np.sign(components[np.arange(len(components)), idx])
    signs[signs == 0] = 1
    return components * signs[:, None]


class PCA:
    """PCA(n_components) with scikit-learn's names: fit(X) → self, transform,
    inverse_transform, fit_transform, components_ (k × n_features), mean_,
    explained_variance_ (eigenvalues of the covariance, divided by n_samples − 1),
    explained_variance_ratio_ (over the total variance of all directions).
    n_components=None keeps min(n_samples, n_features)."""

    def __init__(self, n_components=None):
        self.n_components = n_components

    def fit(self, X):
        fn = "PCA.fit"
        X = self._data(fn, X)
        n, d = X.shape
        if n < 2:
            raise ValueError(f"{fn}: X needs at least 2 samples, got {n}")
        k = self.n_components
        if k is None:
            k = min(n, d)
        elif isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 1 <= k <= min(n, d):
            raise ValueError(f"{fn}: n_components must be an int in [1, {min(n, d)}], "
                             f"got {k!r}")
        self.mean_ = X.mean(axis=0)
        _, s, vt = np.linalg.svd(X - self.mean_, full_matrices=False)
        variance = s ** 2 / (n - 1)
        self.components_ = _fix_signs(vt[:k])
        self.explained_variance_ = variance[:k]
        total = variance.sum()
        self.explained_variance_ratio_ = variance[:k] / total if total > 0 else \
            np.zeros(k)
        self.n_components_ = int(k)
        self.n_features_in_ = d
        return self

    def transform(self, X):
        self._fitted("PCA.transform")
        X = self._data("PCA.transform", X, self.n_features_in_)
        return (X - self.mean_) @ self.components_.T

    def fit_transform(self, X):
        return self.fit(X).transform(X)

    def inverse_transform(self, Z):
        fn = "PCA.inverse_transform"
        self._fitted(fn)
        Z = np.asarray(Z, dtype=np.float64)
        if Z.ndim != 2 or Z.shape[1] != self.n_components_:
            raise ValueError(f"{fn}: Z must be (n_samples, {self.n_components_}), got "
                             f"shape {Z.shape}")
        return Z @ self.components_ + self.mean_

    def _fitted(self, fn):
        if not hasattr(self, "components_"):
            raise ValueError(f"{fn}: this PCA is not fitted yet; call fit(X) first")

    def _data(self, fn, X, features=None):
        if features is not None:
            self._fitted(fn)
        X = np.asarray(X)
        if X.dtype.kind not in "fiu":
            raise TypeError(f"{fn}: X must hold numbers, got dtype {X.dtype}")
        X = X.astype(np.float64)
        if X.ndim != 2:
            raise ValueError(f"{fn}: X must be 2-D (n_samples, n_features), got shape "
                             f"{X.shape}")
        if features is not None and X.shape[1] != features:
            raise ValueError(f"{fn}: X has {X.shape[1]} features, the PCA was fitted on "
                             f"{features}")
        if not np.all(np.isfinite(X)):
            raise ValueError(f"{fn}: X contains NaN or infinity")
        return X


def reconstruct(A, rank=1):
    """The seed's rank-k reconstruction B + C Cᵀ (A − B) (section 6): A is d × n (one
    column per sample), B its row means replicated across the columns, C the d × rank
    unit eigenvectors of (A − B)(A − B)ᵀ with the largest eigenvalues."""
    fn = "reconstruct"
    A = np.asarray(A)
    if A.dtype.kind not in "fiu" or A.ndim != 2:
        raise ValueError(f"{fn}: A must be a 2-D numeric array (d, n), got {A.dtype} "
                         f"shape {A.shape}")
    d = A.shape[0]
    if isinstance(rank, bool) or not isinstance(rank, numbers.Integral) or not 1 <= rank <= d:
        raise ValueError(f"{fn}: rank must be an int in [1, {d}], got {rank!r}")
    A = A.astype(np.float64)
    B = np.repeat(A.mean(axis=1, keepdims=True), A.shape[1], axis=1)
    w, V = np.linalg.eigh((A - B) @ (A - B).T)
    C = V[:, np.argsort(w)[::-1][:rank]]
    return B + C @ C.T @ (A - B)
