"""Problem description of the backdoor-poisoned Gaussian mixture.

Model (digest of Flynn, Goldhirsh, Keating & Seroussi, arXiv 2605.22481, section 1.2;
the conventions there are reconstructions and every one is a field here): three
clusters with covariance Sigma, clean target ``+mu`` (label +1), clean source ``-mu``
(label -1) and poisons ``-mu + alpha t`` relabelled +1, fitted by
``(1/n) sum loss + (lam/2) |w|^2`` with p/n -> kappa.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import numpy as np

BALANCES = ("additive", "replace")
ASR_DEFINITIONS = ("all", "conditional")
MEAN_NAMES = ("uniform", "min", "max")
TRIGGER_NAMES = ("orth", "min", "max")
SCALAR_FIELDS = ("kappa", "lam", "snr", "eps", "alpha", "alpha_test")
GEOMETRY_FIELDS = frozenset({"cov", "mean", "trigger"})


@dataclasses.dataclass(frozen=True)
class Geometry:
    """The covariance in its eigenbasis and the unit mean and trigger directions.

    Attributes
    ----------
    sigma : ndarray, shape (p,)
        Eigenvalues of Sigma, ascending.
    basis : ndarray, shape (p, p) or None
        Eigenvectors as columns; ``None`` when Sigma is diagonal in the given
        coordinates (a spectrum or the default identity).
    mean, trigger : ndarray, shape (p,)
        Unit directions of mu and t, as components on the eigenvectors.
    """

    sigma: np.ndarray
    basis: np.ndarray | None
    mean: np.ndarray
    trigger: np.ndarray

    @property
    def p(self) -> int:
        return self.sigma.size

    def to_coordinates(self, v: np.ndarray) -> np.ndarray:
        """Map eigenbasis components back to the coordinates the user gave."""
        return v if self.basis is None else self.basis @ v


@dataclasses.dataclass(frozen=True, eq=False)
class Setup:
    """One backdoor-poisoning problem in the proportional limit p/n -> kappa.

    Parameters
    ----------
    kappa : float
        Aspect ratio p/n, > 0.
    lam : float
        L2 strength in ``(1/n) sum loss + (lam/2)|w|^2``, >= 0.
    snr : float
        Signal strength |mu|^2, > 0.
    eps : float
        Poisoning fraction, in [0, 1) ("additive") or [0, 0.5) ("replace").
    alpha : float
        Training trigger strength, >= 0.
    alpha_test : float
        Test trigger strength, >= 0.
    balance : {"additive", "replace"}
        "additive": poisons are a fraction eps of the training set, clean classes
        share the rest equally (rho_p = eps, rho_+- = (1 - eps)/2); "replace": poisons
        replace clean source samples (rho_+ = 1/2, rho_- = 1/2 - eps, rho_p = eps).
    intercept : bool
        Fit an unpenalised intercept b (else b = 0).
    asr : {"all", "conditional"}
        Attack success over all triggered source inputs, or only over those the
        model classifies correctly when clean.
    cov : None, array of shape (p,) or (p, p)
        Covariance: ``None`` is the identity, a 1-D array a spectrum (Sigma diagonal),
        a 2-D array a symmetric positive definite matrix.
    mean : {"uniform", "min", "max"} or array of shape (p,)
        Direction of mu (its norm is set by ``snr``). "uniform" has equal components
        on every eigenvector of Sigma; "min"/"max" is the eigenvector of the
        smallest/largest eigenvalue.
    trigger : {"orth", "min", "max"} or array of shape (p,)
        Direction of the trigger t (normalised to unit norm). "orth" is a direction
        orthogonal to mu with alternating-sign components on the eigenvectors.
    """

    kappa: float = 0.5
    lam: float = 0.1
    snr: float = 1.0
    eps: float = 0.1
    alpha: float = 1.0
    alpha_test: float = 1.0
    balance: str = "additive"
    intercept: bool = True
    asr: str = "all"
    cov: Any = None
    mean: Any = "uniform"
    trigger: Any = "orth"

    def __post_init__(self) -> None:
        for name in SCALAR_FIELDS:
            object.__setattr__(self, name, float(getattr(self, name)))
        check_params(
            balance=self.balance, **{k: getattr(self, k) for k in SCALAR_FIELDS}
        )
        _check_choice("asr", self.asr, ASR_DEFINITIONS)
        if not isinstance(self.intercept, bool | np.bool_):
            raise TypeError(f"intercept must be True or False, got {self.intercept!r}")
        if self.cov is not None:
            object.__setattr__(self, "cov", _check_cov(self.cov))
        for name, names in (("mean", MEAN_NAMES), ("trigger", TRIGGER_NAMES)):
            object.__setattr__(
                self, name, _check_direction(name, getattr(self, name), names)
            )
        _check_sizes(self.cov, self.mean, self.trigger)

    def replace(self, **changes: Any) -> Setup:
        """A copy with some fields changed (validated again).

        The geometry (an eigendecomposition for a covariance matrix) is reused when
        cov, mean and trigger are unchanged.
        """
        new = dataclasses.replace(self, **changes)
        if "geometry" in self.__dict__ and not GEOMETRY_FIELDS & changes.keys():
            new.__dict__["geometry"] = self.__dict__["geometry"]
        return new

    @property
    def rho(self) -> tuple[float, float, float]:
        """Cluster weights (rho_+, rho_-, rho_p)."""
        if self.balance == "additive":
            return (0.5 * (1 - self.eps), 0.5 * (1 - self.eps), self.eps)
        return (0.5, 0.5 - self.eps, self.eps)

    @functools.cached_property
    def geometry(self) -> Geometry:
        """Spectrum and directions in the eigenbasis (p = 2 for the identity)."""
        return resolve_geometry(self.cov, self.mean, self.trigger)

    def geometry_in(self, p: int) -> Geometry:
        """The geometry at dimension p (only for ``cov=None``, the identity)."""
        if self.cov is not None:
            if p != self.geometry.p:
                raise ValueError(f"p must equal the covariance size {self.geometry.p}")
            return self.geometry
        return resolve_geometry(np.ones(p), self.mean, self.trigger)

    def vectors(self, p: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """mu (norm sqrt(snr)) and the unit trigger t in the user's coordinates."""
        g = self.geometry if p is None else self.geometry_in(p)
        return math.sqrt(self.snr) * g.to_coordinates(g.mean), g.to_coordinates(
            g.trigger
        )


def _check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")


def check_params(balance: str = "additive", **values: Any) -> None:
    """Validate scalar or array parameters, naming the first bad one and its range.

    Parameters
    ----------
    balance : str
        Sets the allowed range of ``eps``.
    **values
        Any of kappa, lam, snr, eps, alpha, alpha_test, as scalars or arrays.
    """
    _check_choice("balance", balance, BALANCES)
    eps_max = 1.0 if balance == "additive" else 0.5
    rules = {
        "kappa": (lambda a: a > 0, "> 0"),
        "lam": (lambda a: a >= 0, ">= 0"),
        "snr": (lambda a: a > 0, "> 0"),
        "eps": (
            lambda a: (a >= 0) & (a < eps_max),
            f"in [0, {eps_max:g}) for {balance}",
        ),
        "alpha": (lambda a: a >= 0, ">= 0"),
        "alpha_test": (lambda a: a >= 0, ">= 0"),
    }
    for name, value in values.items():
        if name not in rules:
            raise TypeError(
                f"unknown parameter {name!r}; expected one of {tuple(rules)}"
            )
        arr = np.asarray(value, dtype=float)
        ok, text = rules[name]
        bad = ~(np.isfinite(arr) & ok(arr))
        if np.any(bad):
            first = arr.reshape(-1)[np.argmax(bad.reshape(-1))]
            raise ValueError(f"{name} must be finite and {text}, got {first!r}")


def _check_cov(cov: Any) -> np.ndarray:
    if np.iscomplexobj(cov):
        raise ValueError("cov must be real")
    arr = np.array(cov, dtype=float)
    if arr.ndim not in (1, 2) or arr.shape[0] < 2:
        raise ValueError(
            f"cov must be a spectrum (p,) or a matrix (p, p) with p >= 2, "
            f"got shape {arr.shape}"
        )
    if arr.ndim not in (1, 2) or arr.size == 0:
        raise ValueError(
            f"cov must be a spectrum (p,) or a matrix (p, p), got {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError("cov must be finite (found NaN or inf)")
    if arr.ndim == 1 and np.any(arr <= 0):
        raise ValueError(f"cov spectrum must be > 0, got min {arr.min()!r}")
    if arr.ndim == 2:
        if arr.shape[0] != arr.shape[1]:
            raise ValueError(f"cov matrix must be square, got {arr.shape}")
        if not np.allclose(arr, arr.T, rtol=1e-10, atol=1e-12 * np.abs(arr).max()):
            raise ValueError("cov matrix must be symmetric")
        smallest = np.linalg.eigvalsh(arr)[0]
        if smallest <= 0:
            raise ValueError(
                f"cov must be positive definite, smallest eigenvalue {smallest!r}"
            )
    arr.setflags(write=False)
    return arr


def _check_sizes(cov: Any, mean: Any, trigger: Any) -> None:
    sizes = {
        n: v.size
        for n, v in (("mean", mean), ("trigger", trigger))
        if isinstance(v, np.ndarray)
    }
    if cov is not None:
        sizes = {"cov": len(cov), **sizes}
    if len(set(sizes.values())) > 1:
        raise ValueError(
            f"cov, mean and trigger must have the same length p, got {sizes}"
        )


def _check_direction(name: str, value: Any, names: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        _check_choice(name, value, names)
        return value
    arr = np.array(value, dtype=float)
    if arr.ndim != 1 or arr.size < 2:
        raise ValueError(f"{name} must be a name in {names} or a 1-D vector")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (found NaN or inf)")
    scale = np.max(np.abs(arr))
    if not scale > 0:
        raise ValueError(f"{name} must have a norm > 0")
    arr = arr / scale  # only the direction matters; this keeps the norm finite
    arr.setflags(write=False)
    return arr


def resolve_geometry(cov: Any, mean: Any, trigger: Any) -> Geometry:
    """Diagonalise the covariance; express mean and trigger on its eigenvectors."""
    if cov is None:
        p = next((v.size for v in (mean, trigger) if isinstance(v, np.ndarray)), 2)
        sigma, basis = np.ones(p), None
    elif np.ndim(cov) == 1:
        sigma, basis = np.asarray(cov, dtype=float), None
    else:
        sigma, basis = np.linalg.eigh(cov)
    m = _named_or_vector("mean", mean, sigma, basis, None)
    t = _named_or_vector("trigger", trigger, sigma, basis, m)
    return Geometry(sigma, basis, m, t)


def _named_or_vector(name, value, sigma, basis, mean):
    p = sigma.size
    if isinstance(value, np.ndarray):
        if value.size != p:
            raise ValueError(
                f"{name} has length {value.size}, the covariance has p = {p}"
            )
        v = value if basis is None else basis.T @ value
    elif value == "uniform":
        v = np.ones(p)
    elif value in ("min", "max"):
        v = np.zeros(p)
        v[np.argmin(sigma) if value == "min" else np.argmax(sigma)] = 1.0
    else:  # "orth": alternating signs, made orthogonal to the mean
        v = np.where(np.arange(p) % 2 == 0, 1.0, -1.0)
        v = v - (v @ mean) * mean
        if np.linalg.norm(v) < 1e-8:
            v = np.zeros(p)
            v[np.argmin(np.abs(mean))] = 1.0
            v = v - (v @ mean) * mean
    return v / np.linalg.norm(v)
