"""Plain scipy baseline for the p-spin complexity curve and its thresholds.

Written the way reference codes of the field evaluate the Auffinger-Ben Arous-Cerny
formulas (digest section 3 of ``shared/papers/spin-glass.md``): the edge rate
I_1(u) = (2 / E_inf^2) int_u^{-E_inf} sqrt(z^2 - E_inf^2) dz by adaptive ``quad`` at
every energy, and each threshold E_k as the root of Theta_{k,p}(-E) = 0 by ``brentq``
on a bracket below -E_inf. Written for this project, not copied from any other.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.integrate import quad
from scipy.optimize import brentq


def e_inf(p: float) -> float:
    """2 sqrt((p - 1) / p)."""
    return 2.0 * math.sqrt((p - 1.0) / p)


def edge_rate(u: float, p: float) -> float:
    """I_1(u) by adaptive quadrature (zero above -E_inf)."""
    e = e_inf(p)
    if u >= -e:
        return 0.0
    value, _ = quad(lambda z: math.sqrt(max(z * z - e * e, 0.0)), u, -e)
    return 2.0 / (e * e) * value


def theta(u: float, p: float, k: int | None = None) -> float:
    """Theta_p(u) (k None) or Theta_{k,p}(u)."""
    e = e_inf(p)
    c = 0.5 * math.log(p - 1.0)
    q = (p - 2.0) / (4.0 * (p - 1.0))
    if k is None:
        return c if u >= 0 else c - q * u * u - edge_rate(u, p)
    if u >= -e:
        return c - (p - 2.0) / p
    return c - q * u * u - (k + 1) * edge_rate(u, p)


def complexity_curve(u: np.ndarray, p: float) -> np.ndarray:
    """Theta_p on an array of energies, one quad per energy."""
    return np.array([theta(float(x), p) for x in u])


def thresholds(p: float, k_max: int) -> np.ndarray:
    """E_0..E_{k_max} by brentq on [-4 E_inf, -E_inf)."""
    e = e_inf(p)
    return np.array(
        [
            -brentq(
                lambda u, k=k: theta(u, p, k), -4.0 * e, -e * (1 + 1e-14), xtol=1e-14
            )
            for k in range(k_max + 1)
        ]
    )
