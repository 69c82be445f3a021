"""Backdoor attacks: where stronger triggers backfire.

Flynn, Goldhirsh, Keating & Seroussi, "When Stronger Triggers Backfire" (arXiv
2605.22481). For a logistic learner on the poisoned Gaussian mixture, the training
trigger strength alpha* that maximises attack success, and the attack success it
buys, across the aspect ratio kappa = p/n and the poisoning fraction eps. One C++
call solves the whole (eps, kappa, alpha) grid with continuation along alpha.

Usage: ``python plot_backdoor_phase_diagram.py [OUTPUT_FOLDER]``
"""

import sys
from pathlib import Path

import numpy as np

from keatingcore import backdoor as bd
from keatingcore._plotting import new_figure, save_figure

out = Path(sys.argv[1] if len(sys.argv) > 1 else "examples/output")

# %% Solve the grid: eps x kappa x alpha.
setup = bd.Setup(lam=0.1, snr=4.0, alpha_test=2.0)
kappas = np.geomspace(0.1, 4.0, 24)
eps = np.array([0.02, 0.05, 0.1, 0.2])
alphas = np.linspace(0.0, 20.0, 161)
grid = bd.sweep(setup, "logistic", eps=eps, kappa=kappas, alpha=alphas)
peak = grid.attack_success.argmax(axis=-1)

# %% alpha* and the peak attack success against kappa, one curve per eps.
fig = new_figure(figsize=(10, 4))
left, right = fig.subplots(1, 2)
for i, e in enumerate(eps):
    left.plot(kappas, alphas[peak[i]], label=f"eps = {e:g}")
    right.plot(kappas, grid.attack_success[i].max(axis=-1), label=f"eps = {e:g}")
for ax, label in (
    (left, "alpha* (peak of attack success)"),
    (right, "peak attack success"),
):
    ax.set_xscale("log")
    ax.set_xlabel("kappa = p / n")
    ax.set_ylabel(label)
    ax.grid(alpha=0.3)
left.legend()
fig.suptitle(
    f"logistic loss, lam = 0.1, |mu|^2 = 4, alpha_test = 2 "
    f"({grid.converged.sum()} of {grid.converged.size} points converged, "
    f"{grid.elapsed:.2f} s)"
)
print(save_figure(fig, out / "backdoor_phase_diagram.png")[0])
