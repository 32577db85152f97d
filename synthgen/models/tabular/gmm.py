"""A one-dimensional variational Bayesian Gaussian mixture, vectorized in numpy.

The same model as scikit-learn's ``BayesianGaussianMixture`` with a Dirichlet-process
(stick-breaking) weight prior of small concentration (CTGAN uses 0.001), so that unneeded modes
get ~0 weight and are dropped.
Written for one column at a time: every array is (rows, modes), which makes an EM iteration a
handful of numpy calls; scikit-learn's general n-dimensional code (k-means init, Cholesky
factors) is what makes CTGAN's preprocessing take a minute on Adult.

Initialisation is deterministic: means at quantiles of the distinct values, each value assigned
to the nearest (so a spike of repeated values starts as one mode, not several identical ones).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, logsumexp

WEIGHT_CONCENTRATION = 1e-3  # Dirichlet prior: small -> sparse mixture (CTGAN's choice)
WEIGHT_THRESHOLD = 5e-3  # modes lighter than this are dropped (CTGAN's choice)
REG_VAR = 1e-6  # variance floor, in units of the column's variance
MAX_ITER = 100  # scikit-learn's defaults
TOL = 1e-3
_CHUNK = 16_384  # rows per block of (rows, modes) temporaries in Mixture.draw_modes


@dataclass
class Mixture:
    """The kept modes, in the column's own units."""

    weights: np.ndarray
    means: np.ndarray
    stds: np.ndarray

    def log_resp(self, x: np.ndarray) -> np.ndarray:
        """Log posterior probability of each mode for each value, shape (rows, modes)."""
        z = (x[:, None] - self.means) / self.stds
        logp = np.log(self.weights) - np.log(self.stds) - 0.5 * z * z
        return logp - logsumexp(logp, axis=1, keepdims=True)

    def draw_modes(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Each value's mode drawn from its posterior by inverse CDF with the uniforms ``u``.

        The same draw as comparing ``u`` with the cumulated ``exp(log_resp(x))``, without the
        normalisation (``u`` is scaled by each row's total instead) and in row chunks: on a
        1M-row column, scipy's ``logsumexp`` over (rows, modes) float64 temporaries took
        ~3 s and ~0.5 GB; chunks of cache size take a fraction of both.
        """
        out = np.empty(len(x), dtype=np.int64)
        offset = np.log(self.weights) - np.log(self.stds)
        for a in range(0, len(x), _CHUNK):
            z = (x[a : a + _CHUNK, None] - self.means) / self.stds
            logp = offset - 0.5 * z * z
            logp -= logp.max(axis=1, keepdims=True)
            mass = np.cumsum(np.exp(logp, out=logp), axis=1)
            out[a : a + _CHUNK] = (u[a : a + _CHUNK, None] * mass[:, -1:] > mass).sum(axis=1)
        return np.minimum(out, len(self.means) - 1)


def fit_mixture(x: np.ndarray, max_modes: int) -> Mixture:
    """Fit a variational Gaussian mixture with at most ``max_modes`` modes to 1-D ``x``."""
    x = np.asarray(x, dtype=np.float64)
    center, scale = float(x.mean()), float(x.std())
    if scale == 0 or len(x) < 2:
        return Mixture(np.ones(1), np.array([center]), np.array([max(abs(center), 1.0) * 1e-3]))
    z = (x - center) / scale
    k = int(min(max_modes, len(np.unique(z))))
    resp = _nearest_quantile_init(z, k)
    prior = _Prior(mean=0.0, beta=1.0, dof=1.0, inv_scale=1.0)  # data standardised: var 1
    previous = -np.inf
    for _ in range(MAX_ITER):
        post = _m_step(z, resp, prior)
        log_rho = _expected_log_joint(z, post)
        norm = logsumexp(log_rho, axis=1, keepdims=True)
        resp = np.exp(log_rho - norm)
        bound = float(norm.mean())
        if abs(bound - previous) < TOL:
            break
        previous = bound
    post = _m_step(z, resp, prior)
    weights = _stick_weights(post)
    keep = weights > WEIGHT_THRESHOLD
    if not keep.any():
        keep = weights == weights.max()
    variances = 1.0 / (post.dof * post.scale)  # inverse of the expected precision
    return Mixture(
        weights=weights[keep] / weights[keep].sum(),
        means=center + scale * post.mean[keep],
        stds=scale * np.sqrt(variances[keep] + REG_VAR),
    )


@dataclass
class _Prior:
    mean: float
    beta: float  # precision of the mean prior, relative to the mode's precision
    dof: float  # Gamma/Wishart degrees of freedom
    inv_scale: float  # inverse Wishart scale (a variance)


@dataclass
class _Posterior:
    stick_a: np.ndarray  # Beta(a, b) posterior of each stick-breaking fraction
    stick_b: np.ndarray
    beta: np.ndarray
    mean: np.ndarray
    dof: np.ndarray
    scale: np.ndarray  # Wishart scale (a precision), so E[precision] = dof * scale


def _nearest_quantile_init(z: np.ndarray, k: int) -> np.ndarray:
    centers = np.quantile(np.unique(z), (np.arange(k) + 0.5) / k)
    nearest = np.abs(z[:, None] - centers).argmin(axis=1)
    resp = np.zeros((len(z), k))
    resp[np.arange(len(z)), nearest] = 1.0
    return resp


def _stick_weights(post: _Posterior) -> np.ndarray:
    frac = post.stick_a / (post.stick_a + post.stick_b)
    rest = np.concatenate([[1.0], np.cumprod(1.0 - frac)[:-1]])
    weights = frac * rest
    return weights / weights.sum()


def _m_step(z: np.ndarray, resp: np.ndarray, prior: _Prior) -> _Posterior:
    nk = resp.sum(axis=0) + 10 * np.finfo(float).eps
    xk = resp.T @ z / nk
    sk = (resp * (z[:, None] - xk) ** 2).sum(axis=0) / nk
    beta = prior.beta + nk
    mean = (prior.beta * prior.mean + nk * xk) / beta
    dof = prior.dof + nk
    inv_scale = prior.inv_scale + nk * (sk + REG_VAR) + prior.beta * nk / beta * (xk - prior.mean) ** 2
    later = np.concatenate([np.cumsum(nk[::-1])[-2::-1], [0.0]])  # sum of nk over modes after k
    return _Posterior(1.0 + nk, WEIGHT_CONCENTRATION + later, beta, mean, dof, 1.0 / inv_scale)


def _expected_log_joint(z: np.ndarray, post: _Posterior) -> np.ndarray:
    both = digamma(post.stick_a + post.stick_b)
    log_v, log_not_v = digamma(post.stick_a) - both, digamma(post.stick_b) - both
    log_pi = log_v + np.concatenate([[0.0], np.cumsum(log_not_v)[:-1]])
    log_lambda = digamma(0.5 * post.dof) + np.log(2.0) + np.log(post.scale)
    quad = 1.0 / post.beta + post.dof * post.scale * (z[:, None] - post.mean) ** 2
    return log_pi + 0.5 * log_lambda - 0.5 * np.log(2 * np.pi) - 0.5 * quad
