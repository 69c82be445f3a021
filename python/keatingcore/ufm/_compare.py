"""DNC against the low-rank configuration of paper B, at one point and over (K, depth).

Paper B (Garrod & Keating, arXiv 2410.23169, Theorem 1) shows that no DNC
configuration is globally optimal for K >= 4 and L >= 3, or K >= 6 and L = 2. Here
nothing of that statement is built in: each configuration's reduced loss
(:mod:`keatingcore.ufm._frames`) is minimised over its scale and the two minima are
compared. The proof's own quantities are reported as numbers too: the loss of the
low-rank frame at the DNC optimal scale, and the ratio of the two penalties at equal
scale, ``sum_i s_i(LR)^(2/M) / sum_i s_i(DNC)^(2/M)`` from the frames' SVDs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._checks import MAX_DEPTH, check_int, check_problem, factor_lams, plain
from ._frames import (
    FrameMinimum,
    dnc_frame,
    frame_loss,
    frame_singular_values,
    lowrank_frame,
    minimise_frames,
)


def _penalty_ratio(depth: int, A: np.ndarray, B: np.ndarray) -> float:
    p = 2.0 / depth
    sa = frame_singular_values(A)
    sb = frame_singular_values(B)
    return float(np.sum(sa**p) / np.sum(sb**p))


@dataclasses.dataclass(frozen=True)
class CEComparison:
    """DNC against the paired low-rank frame (and any user frames) at one point.

    Attributes
    ----------
    K, n, depth : int
    lams : ndarray, shape (depth,)
    candidates : dict of str to FrameMinimum
        ``"dnc"``, ``"lowrank"`` and the user's frames, each at its best scale.
    winner : str
        Name of the lowest loss (``"zero"`` when every frame's best is t = 0).
    margin : float
        ``loss(dnc) - loss(lowrank)``: > 0 when the low-rank frame wins.
    relative_margin : float
        ``margin / loss(dnc)``.
    lowrank_at_dnc_scale : float
        Low-rank reduced loss at the DNC optimal scale (the proof of Theorem 1).
    penalty_ratio : float
        Low-rank over DNC penalty at equal scale; < 1 with a smaller fit term is
        the proof's sufficient condition for DNC to lose.
    """

    K: int
    n: int
    depth: int
    lams: np.ndarray
    candidates: dict[str, FrameMinimum]
    winner: str
    margin: float
    relative_margin: float
    lowrank_at_dnc_scale: float
    penalty_ratio: float

    @property
    def dnc(self) -> FrameMinimum:
        return self.candidates["dnc"]

    @property
    def lowrank(self) -> FrameMinimum:
        return self.candidates["lowrank"]

    @property
    def minima(self) -> dict[str, float]:
        """Loss of every candidate at its best scale (the predicted minima)."""
        return {k: v.loss for k, v in self.candidates.items()}

    def to_dict(self) -> dict[str, Any]:
        return plain(self)


def ce_compare(
    K: int,
    n: int,
    depth: int,
    lam,
    lam_H=None,
    *,
    frames: Mapping[str, Any] | None = None,
    num_threads: int | None = None,
) -> CEComparison:
    """Which collapsed configuration has the lower cross-entropy loss, and by how much.

    Parameters
    ----------
    K, n, depth : int
        Classes (>= 2), samples per class (>= 1), factors ``L + 1`` (>= 2).
    lam : float or sequence of float
        Weight decay of every weight matrix (or one per matrix), > 0.
    lam_H : float, optional
        Strength on the features (default ``lam``).
    frames : mapping of str to array_like (K, K), optional
        Further frames to compare (e.g. :func:`circle_frame`).
    num_threads : int, optional

    Returns
    -------
    CEComparison
    """
    K, n, depth = check_problem(K, n, depth)
    lams = factor_lams(depth, lam, lam_H)
    named = {"dnc": dnc_frame(K), "lowrank": lowrank_frame(K)}
    for name, f in (frames or {}).items():
        if name in named:
            raise ValueError(f"frames must not reuse the name {name!r}")
        if np.shape(f) != (K, K):
            raise ValueError(f"frames[{name!r}] must have shape ({K}, {K})")
        named[name] = np.asarray(f, dtype=float)
    mins = minimise_frames(
        list(named.values()), n, depth, lams[1:], lams[0], num_threads=num_threads
    )
    cand = dict(zip(named, mins, strict=True))
    best = min(cand, key=lambda k: cand[k].loss)
    winner = "zero" if cand[best].at_zero else best
    dnc, lr = cand["dnc"], cand["lowrank"]
    margin = dnc.loss - lr.loss
    at_alpha = frame_loss(named["lowrank"], dnc.scale, n, depth, lams[1:], lams[0])
    return CEComparison(
        K=K,
        n=n,
        depth=depth,
        lams=lams,
        candidates=cand,
        winner=winner,
        margin=float(margin),
        relative_margin=float(margin / dnc.loss),
        lowrank_at_dnc_scale=float(at_alpha["loss"]),
        penalty_ratio=_penalty_ratio(depth, named["lowrank"], named["dnc"]),
    )


@dataclasses.dataclass(frozen=True)
class CEMap:
    """DNC against low rank over a (K, depth) grid.

    Attributes
    ----------
    Ks, depths : ndarray of int
        Grid axes.
    n : int
    lam : float
        One strength for every factor.
    dnc_loss, lowrank_loss : ndarray, shape (len(Ks), len(depths))
        Best loss of each configuration (t = 0 included).
    dnc_scale, lowrank_scale : ndarray
        Their optimal scales.
    margin : ndarray
        ``dnc_loss - lowrank_loss`` (> 0: low rank wins).
    penalty_ratio : ndarray
        Low-rank over DNC penalty at equal scale.
    """

    Ks: np.ndarray
    depths: np.ndarray
    n: int
    lam: float
    dnc_loss: np.ndarray
    lowrank_loss: np.ndarray
    dnc_scale: np.ndarray
    lowrank_scale: np.ndarray
    margin: np.ndarray
    penalty_ratio: np.ndarray

    @property
    def lowrank_wins(self) -> np.ndarray:
        """Boolean map: the low-rank configuration has lower loss by more than
        ``1e-9`` relative (K = 2: the two frames coincide up to scale, a tie)."""
        return (self.margin > 1e-9 * self.dnc_loss) & (self.lowrank_scale > 0)

    def winning_region(self) -> list[tuple[int, int]]:
        """``(K, L)`` pairs (L = depth - 1 weight matrices) where low rank wins."""
        i, j = np.nonzero(self.lowrank_wins)
        pairs = zip(i, j, strict=True)
        return [(int(self.Ks[a]), int(self.depths[b]) - 1) for a, b in pairs]

    def to_dict(self) -> dict[str, Any]:
        return plain(self)


def ce_map(
    Ks: Sequence[int],
    depths: Sequence[int],
    n: int,
    lam: float,
    *,
    num_threads: int | None = None,
) -> CEMap:
    """:func:`ce_compare` over a grid of class counts and depths (one C++ call).

    Parameters
    ----------
    Ks : sequence of int
        Class counts, each >= 2.
    depths : sequence of int
        Factor counts ``L + 1``, each >= 2.
    n : int
    lam : float
        Strength of every factor, > 0.
    num_threads : int, optional
        OpenMP threads over the 2 x len(Ks) x len(depths) scale problems.

    Returns
    -------
    CEMap
    """
    Ks = np.array([check_int(k, "K", 2) for k in Ks])
    depths = np.array([check_int(d, "depth", 2, MAX_DEPTH) for d in depths])
    if Ks.size == 0 or depths.size == 0:
        raise ValueError("Ks and depths must not be empty")
    n = check_int(n, "n", 1)
    frames, nd = [], []
    for K in Ks:
        for d in depths:
            frames += [dnc_frame(K), lowrank_frame(K)]
            nd += [d, d]
    mins = minimise_frames(frames, n, nd, lam, num_threads=num_threads)
    shape = (Ks.size, depths.size)
    dl = np.array([m.loss for m in mins[0::2]]).reshape(shape)
    ll = np.array([m.loss for m in mins[1::2]]).reshape(shape)
    ratio = np.array(
        [
            [_penalty_ratio(d, lowrank_frame(K), dnc_frame(K)) for d in depths]
            for K in Ks
        ]
    )
    return CEMap(
        Ks=Ks,
        depths=depths,
        n=n,
        lam=float(lam),
        dnc_loss=dl,
        lowrank_loss=ll,
        dnc_scale=np.array([m.scale for m in mins[0::2]]).reshape(shape),
        lowrank_scale=np.array([m.scale for m in mins[1::2]]).reshape(shape),
        margin=dl - ll,
        penalty_ratio=ratio,
    )
