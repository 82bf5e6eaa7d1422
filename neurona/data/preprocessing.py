"""Input preprocessing fitted on the training set: scaling, mean-image subtraction, PCA and ZCA whitening.

Gradient descent converges fastest when inputs are centred near zero with similar
spreads (and, better still, decorrelated): every weight then gets updates of a
similar size. Each transformer learns its statistics with ``fit(x_train)`` only,
then applies the same map to training, validation and test data, so no
information leaks from the test set::

    scaler = StandardScaler().fit(x_train)
    x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)

Axis 0 indexes samples; every other axis is a feature (images (N, H, W) are fine:
each pixel is a feature). Statistics are computed and kept in float64 and cast
to the data's dtype when applied: outputs are float32 (float64 for float64 inputs).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..autograd import Tensor


def _float(x: Any, who: str) -> np.ndarray:
    x = backend.to_numpy(x.data if isinstance(x, Tensor) else x)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{who}: expected numeric data. Received: dtype={x.dtype}")
    if x.ndim < 2:
        raise ValueError(f"{who}: expected samples along axis 0 and features after it, e.g. (N, F). "
                         f"Received: shape={x.shape}")
    return x


def _out_dtype(x: np.ndarray) -> np.dtype:
    return np.dtype(np.float64) if x.dtype == np.float64 else np.dtype(np.float32)


class _Transformer:
    """fit / transform / fit_transform / inverse_transform, with the checks they share."""

    sample_shape: tuple[int, ...] | None = None

    def fit(self, x: Any) -> _Transformer:
        x = _float(x, f"{type(self).__name__}.fit")
        if len(x) < 2:
            raise ValueError(f"{type(self).__name__}.fit: expected at least 2 samples. Received: {len(x)}")
        self.sample_shape = tuple(x.shape[1:])
        self._fit(x.astype(np.float64))
        return self

    def _check(self, x: Any, method: str) -> np.ndarray:
        who = f"{type(self).__name__}.{method}"
        if self.sample_shape is None:
            raise RuntimeError(f"{who}: call fit(x_train) first")
        x = _float(x, who)
        if tuple(x.shape[1:]) != self.sample_shape:
            raise ValueError(f"{who}: fitted on samples of shape {self.sample_shape}. "
                             f"Received: samples of shape {tuple(x.shape[1:])} (x.shape={x.shape})")
        return x

    def transform(self, x: Any) -> np.ndarray:
        x = self._check(x, "transform")
        return self._transform(x.astype(_out_dtype(x), copy=False))

    def fit_transform(self, x: Any) -> np.ndarray:
        return self.fit(x).transform(x)

    def _fit(self, x: np.ndarray) -> None:
        raise NotImplementedError

    def _transform(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _stats(self, a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(a, dtype=np.float64)


class StandardScaler(_Transformer):
    """z-score each feature: z = (x - mean) / std (population std, as scikit-learn; std 0 -> 1)."""

    def __init__(self, with_mean: bool = True, with_std: bool = True) -> None:
        self.with_mean, self.with_std = with_mean, with_std

    def _fit(self, x: np.ndarray) -> None:
        self.mean_ = self._stats(x.mean(axis=0) if self.with_mean else np.zeros(x.shape[1:]))
        std = x.std(axis=0) if self.with_std else np.ones(x.shape[1:])
        self.scale_ = self._stats(np.where(std == 0, 1.0, std))  # a constant feature stays centred, not divided by 0

    def _transform(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean_.astype(x.dtype)) / self.scale_.astype(x.dtype)

    def inverse_transform(self, z: Any) -> np.ndarray:
        z = self._check(z, "inverse_transform")
        z = z.astype(_out_dtype(z), copy=False)
        return z * self.scale_.astype(z.dtype) + self.mean_.astype(z.dtype)


class MinMaxScaler(_Transformer):
    """Map each feature's training range [min, max] linearly onto ``feature_range`` (default [0, 1])."""

    def __init__(self, feature_range: tuple[float, float] = (0.0, 1.0)) -> None:
        lo, hi = feature_range
        if not lo < hi:
            raise ValueError(f"MinMaxScaler: feature_range must be (min, max) with min < max. "
                             f"Received: feature_range={feature_range}")
        self.feature_range = (float(lo), float(hi))

    def _fit(self, x: np.ndarray) -> None:
        lo, hi = self.feature_range
        self.data_min_, self.data_max_ = x.min(axis=0), x.max(axis=0)
        span = self.data_max_ - self.data_min_
        scale = (hi - lo) / np.where(span == 0, 1.0, span)
        self.scale_ = self._stats(scale)
        self.min_ = self._stats(lo - self.data_min_ * scale)

    def _transform(self, x: np.ndarray) -> np.ndarray:
        return x * self.scale_.astype(x.dtype) + self.min_.astype(x.dtype)

    def inverse_transform(self, z: Any) -> np.ndarray:
        z = self._check(z, "inverse_transform")
        z = z.astype(_out_dtype(z), copy=False)
        return (z - self.min_.astype(z.dtype)) / self.scale_.astype(z.dtype)


class MeanImageSubtraction(_Transformer):
    """Subtract the training set's mean image (per pixel and channel): AlexNet's and VGG's centring."""

    def _fit(self, x: np.ndarray) -> None:
        self.mean_ = self._stats(x.mean(axis=0))

    def _transform(self, x: np.ndarray) -> np.ndarray:
        return x - self.mean_.astype(x.dtype)

    def inverse_transform(self, z: Any) -> np.ndarray:
        z = self._check(z, "inverse_transform")
        z = z.astype(_out_dtype(z), copy=False)
        return z + self.mean_.astype(z.dtype)


class _Whitening(_Transformer):
    """Eigen-decomposition of the training covariance (unbiased, n - 1, as scikit-learn's PCA)."""

    def __init__(self, epsilon: float = 1e-5) -> None:
        if epsilon < 0:
            raise ValueError(f"{type(self).__name__}: epsilon must be >= 0. Received: epsilon={epsilon}")
        self.epsilon = float(epsilon)

    def _eig(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = x.reshape(len(x), -1)
        self.mean_ = x.mean(axis=0)
        xc = x - self.mean_
        cov = xc.T @ xc / (len(x) - 1)
        eigval, eigvec = np.linalg.eigh(cov)
        order = np.argsort(eigval)[::-1]  # largest variance first, like PCA
        eigval, eigvec = np.clip(eigval[order], 0.0, None), eigvec[:, order]
        # one sign per component, fixed by its largest entry, so refits give the same transform
        signs = np.sign(eigvec[np.argmax(np.abs(eigvec), axis=0), np.arange(eigvec.shape[1])])
        return eigval, eigvec * np.where(signs == 0, 1.0, signs)

    def _check_rank(self, eigval: np.ndarray) -> None:
        if self.epsilon == 0 and eigval[-1] <= eigval[0] * 1e-10:
            raise ValueError(f"{type(self).__name__}.fit: the training data has (almost) no variance along some "
                             "direction (fewer samples than features, or a constant or duplicated feature); "
                             "use epsilon > 0 or fewer components")

    def _flat(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(len(x), -1) - self.mean_.astype(x.dtype)


class PCAWhitening(_Whitening):
    """Project onto the principal components and scale each to unit variance.

    z = (x - mean) @ U_k / sqrt(lambda_k + epsilon), U_k the top ``n_components`` eigenvectors
    of the covariance, lambda_k their eigenvalues. Output (N, n_components): decorrelated,
    unit-variance features (scikit-learn's ``PCA(whiten=True)`` when epsilon=0).
    """

    def __init__(self, n_components: int | None = None, epsilon: float = 1e-5) -> None:
        super().__init__(epsilon)
        self.n_components = n_components

    def _fit(self, x: np.ndarray) -> None:
        eigval, eigvec = self._eig(x)
        d = eigvec.shape[0]
        k = d if self.n_components is None else int(self.n_components)
        if not 1 <= k <= d:
            raise ValueError(f"PCAWhitening: n_components must be in [1, {d}] (the number of features). "
                             f"Received: n_components={self.n_components}")
        self._check_rank(eigval[:k])
        self.explained_variance_ = eigval[:k]
        self.components_ = self._stats(eigvec[:, :k].T)  # (k, d), rows are components, as scikit-learn's
        self.whiten_ = self._stats(eigvec[:, :k] / np.sqrt(eigval[:k] + self.epsilon))
        self.unwhiten_ = self._stats((eigvec[:, :k] * np.sqrt(eigval[:k] + self.epsilon)).T)
        self.mean_ = self._stats(self.mean_)

    def _transform(self, x: np.ndarray) -> np.ndarray:
        return self._flat(x) @ self.whiten_.astype(x.dtype)

    def inverse_transform(self, z: Any) -> np.ndarray:
        """Back to the input space (exact with all components, the best rank-k approximation otherwise)."""
        if self.sample_shape is None:
            raise RuntimeError("PCAWhitening.inverse_transform: call fit(x_train) first")
        z = _float(z, "PCAWhitening.inverse_transform")
        k = self.whiten_.shape[1]
        if z.ndim != 2 or z.shape[1] != k:
            raise ValueError(f"PCAWhitening.inverse_transform: expected (N, {k}) whitened data. "
                             f"Received: shape={z.shape}")
        z = z.astype(_out_dtype(z), copy=False)
        x = z @ self.unwhiten_.astype(z.dtype) + self.mean_.astype(z.dtype)
        return x.reshape((len(z),) + self.sample_shape)


class ZCAWhitening(_Whitening):
    """Decorrelate and scale to unit variance, then rotate back to the input space.

    W = U diag(1 / sqrt(lambda + epsilon)) U^T (symmetric), z = (x - mean) @ W. Of all
    whitening maps ZCA changes the data least, so whitened images still look like
    images (with their edges enhanced). Output has the input's shape. epsilon keeps
    tiny-variance directions (noise) from being blown up.
    """

    def _fit(self, x: np.ndarray) -> None:
        eigval, eigvec = self._eig(x)
        self._check_rank(eigval)
        self.whiten_ = self._stats((eigvec / np.sqrt(eigval + self.epsilon)) @ eigvec.T)
        self.unwhiten_ = self._stats((eigvec * np.sqrt(eigval + self.epsilon)) @ eigvec.T)
        self.mean_ = self._stats(self.mean_)

    def _transform(self, x: np.ndarray) -> np.ndarray:
        return (self._flat(x) @ self.whiten_.astype(x.dtype)).reshape(x.shape)

    def inverse_transform(self, z: Any) -> np.ndarray:
        z = self._check(z, "inverse_transform")
        z = z.astype(_out_dtype(z), copy=False)
        x = z.reshape(len(z), -1) @ self.unwhiten_.astype(z.dtype) + self.mean_.astype(z.dtype)
        return x.reshape(z.shape)
