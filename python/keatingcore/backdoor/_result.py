"""Result objects of the backdoor solvers, and the test metrics they share."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from scipy.special import ndtr

from .._result import SolverResult
from ._setup import Setup


def test_metrics(u1, u2, b, Q, alpha_test, asr="all"):
    """Exact Gaussian test metrics of a linear classifier (w, b).

    With h = w.x + b Gaussian given (w, b), u1 = w.mu, u2 = w.t and Q = w^T Sigma w
    (digest of arXiv 2605.22481, section 1.2):
    ``acc = Phi((u1 + b)/sqrt Q)/2 + Phi((u1 - b)/sqrt Q)/2`` on a balanced clean test
    set, and ``ASR = Phi((-u1 + alpha_test u2 + b)/sqrt Q)`` on triggered source inputs.
    ``asr="conditional"`` counts only source inputs classified correctly when clean.

    Returns
    -------
    (clean_accuracy, attack_success) : arrays broadcast from the inputs
    """
    u1, u2, b, Q = (np.asarray(v, dtype=float) for v in (u1, u2, b, Q))
    s = np.sqrt(Q)
    acc = 0.5 * ndtr((u1 + b) / s) + 0.5 * ndtr((u1 - b) / s)
    clean = -u1 + b
    shift = alpha_test * u2
    if asr == "all":
        return acc, ndtr((clean + shift) / s)
    p_source = ndtr(-clean / s)
    flipped = np.where(shift > 0, p_source - ndtr((-shift - clean) / s), 0.0)
    return acc, flipped / p_source


@dataclasses.dataclass(frozen=True, repr=False)
class BackdoorResult(SolverResult):
    """Asymptotic metrics and order parameters of one backdoor problem.

    Attributes
    ----------
    clean_accuracy, attack_success : float
        Test metrics (``attack_success`` follows ``setup.asr``).
    w_dot_mu, w_dot_t, Q, b : float
        Overlaps u1 = w.mu, u2 = w.t, variance Q = w^T Sigma w, and intercept.
    V, V_hat : float
        Susceptibility and its conjugate.
    noise_floor : float
        kappa q-hat tau_2, the finite-sample part of Q; it vanishes as kappa -> 0.
    loss : str
        The training loss.
    setup : Setup
        The problem solved.
    """

    clean_accuracy: float
    attack_success: float
    w_dot_mu: float
    w_dot_t: float
    Q: float
    b: float
    V: float
    V_hat: float
    noise_floor: float
    loss: str
    setup: Setup = dataclasses.field(repr=False)

    @classmethod
    def build(
        cls,
        setup: Setup,
        loss: str,
        *,
        u1: float,
        u2: float,
        b: float,
        Q: float,
        V: float,
        V_hat: float,
        noise_floor: float,
        converged: bool,
        n_iter: int,
        residual: float,
        elapsed: float,
    ) -> BackdoorResult:
        """A result from order parameters, with the test metrics computed here."""
        acc, asr = test_metrics(u1, u2, b, Q, setup.alpha_test, setup.asr)
        return cls(
            converged=bool(converged),
            n_iter=int(n_iter),
            residual=float(residual),
            elapsed=float(elapsed),
            clean_accuracy=float(acc),
            attack_success=float(asr),
            w_dot_mu=float(u1),
            w_dot_t=float(u2),
            Q=float(Q),
            b=float(b),
            V=float(V),
            V_hat=float(V_hat),
            noise_floor=float(noise_floor),
            loss=loss,
            setup=setup,
        )

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["setup"] = setup_to_dict(self.setup)
        return out


def setup_to_dict(setup: Setup) -> dict[str, Any]:
    """JSON-ready fields of a Setup (arrays as lists)."""
    out = {}
    for f in dataclasses.fields(setup):
        value = getattr(setup, f.name)
        out[f.name] = value.tolist() if isinstance(value, np.ndarray) else value
    return out
