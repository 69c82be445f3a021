"""The headline results of each paper, as steps of ``keatingcore reproduce``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._plotting import new_figure
from ._runner import Outcome, Step

Z_PASS = 3.5  # max |z| over a few dozen comparisons: a 3.5-sigma excursion is rare


def _backdoor_theory_vs_simulation(quick: bool, data_dir: Path | None) -> Outcome:
    from .. import backdoor as bd

    setup = bd.Setup(lam=0.1, snr=4.0, eps=0.1, alpha_test=2.0)
    kappas, n = (0.5, 1.0, 2.0), 1000 if quick else 2000
    seeds = 10 if quick else 40
    alphas = np.linspace(0, 8, 41)
    sim_alphas = alphas[::8]
    theory = bd.sweep(setup, "square", kappa=kappas, alpha=alphas)
    fig = new_figure(figsize=(10, 4))
    panels = fig.subplots(1, 2)
    rows, z = [], []
    for i, kappa in enumerate(kappas):
        colour = f"C{i}"
        for panel, metric in zip(
            panels, ("clean_accuracy", "attack_success"), strict=True
        ):
            panel.plot(
                alphas,
                getattr(theory, metric)[i],
                color=colour,
                label=f"theory, kappa={kappa:g}",
            )
        for a in sim_alphas:
            sim = bd.simulate(
                setup.replace(kappa=kappa, alpha=a),
                n=n,
                loss="square",
                seeds=seeds,
                progress=False,
            )
            exact = bd.ridge_theory(setup.replace(kappa=kappa, alpha=a))
            row = [kappa, a]
            for panel, metric in zip(
                panels, ("clean_accuracy", "attack_success"), strict=True
            ):
                mean, sem = sim.mean(metric), sim.sem(metric)
                panel.errorbar(
                    [a], [mean], yerr=[sem], fmt="o", ms=4, capsize=2, color=colour
                )
                z.append((getattr(exact, metric) - mean) / sem)
                row += [getattr(exact, metric), mean, sem]
            rows.append(row)
    for panel, label in zip(panels, ("clean accuracy", "attack success"), strict=True):
        panel.set_xlabel("training trigger strength alpha")
        panel.set_ylabel(label)
        panel.grid(alpha=0.3)
    panels[1].legend(fontsize="small")
    fig.suptitle(f"ridge: theory (lines) vs simulation at n={n} ({seeds} seeds)")
    max_z = float(np.max(np.abs(z)))
    header = [
        "kappa",
        "alpha",
        "acc_theory",
        "acc_sim",
        "acc_sem",
        "asr_theory",
        "asr_sim",
        "asr_sem",
    ]
    return Outcome(
        fig,
        header,
        rows,
        f"theory vs simulation: max |z| = {max_z:.2f} over {len(z)} points "
        f"(pass below {Z_PASS})",
        max_z < Z_PASS,
        dict(
            setup=str(setup),
            n=n,
            seeds=seeds,
            kappas=kappas,
            sim_alphas=sim_alphas.tolist(),
        ),
    )


def _linear_outcome(result, quick: bool, name: str) -> Outcome:
    from ..experiments import plot_linear_experiment

    max_z = max(
        result.max_z("surrogate", m) for m in ("clean_accuracy", "attack_success")
    )
    rows = [list(r.values()) for r in result.rows()]
    header = list(result.rows()[0])
    return Outcome(
        plot_linear_experiment(result),
        header,
        rows,
        f"theory vs Gaussian surrogate: max |z| = {max_z:.2f} (pass below {Z_PASS})",
        max_z < Z_PASS,
        dict(result.settings, quick=quick, data=name),
    )


def _backdoor_digits(quick: bool, data_dir: Path | None) -> Outcome:
    from .. import data
    from ..experiments import linear_experiment

    result = linear_experiment(
        data.load_digits(),
        kappas=(0.5, 1.0),
        alphas=np.linspace(0, 8, 9 if quick else 17),
        seeds=10 if quick else 40,
        progress=False,
    )
    return _linear_outcome(result, quick, "digits")


def _backdoor_cifar(quick: bool, data_dir: Path | None) -> Outcome:
    from .. import data
    from ..experiments import linear_experiment

    dataset = data.load_cifar10(data_dir)
    result = linear_experiment(
        dataset,
        source="cat",
        target="dog",
        kappas=(1.0, 2.0),
        alphas=np.linspace(0, 8, 5 if quick else 9),
        seeds=3 if quick else 10,
        progress=False,
    )
    return _linear_outcome(result, quick, "cifar10")


def _backdoor_trigger_direction(quick: bool, data_dir: Path | None) -> Outcome:
    from .. import backdoor as bd

    p = 24
    sigma = np.linspace(1.0, 10.0, p)
    picks = [0, 4, 9, 14, 19, 23]
    cands = {f"eigvec {i}": np.eye(p)[i] for i in picks}
    setup = bd.Setup(kappa=0.5, lam=0.1, snr=2.0, eps=0.1, alpha_test=2.0)
    report = bd.worst_trigger_direction(
        sigma, np.eye(p)[2], setup=setup, candidates=cands, max_eigen=0
    )
    order = np.argsort(report.rayleigh)
    eig, peak = report.rayleigh[order], report.peak_attack_success[order]
    fig = new_figure(figsize=(5.5, 4))
    ax = fig.add_subplot()
    ax.plot(eig, peak, "o-")
    ax.set_xlabel("covariance eigenvalue along the trigger")
    ax.set_ylabel("peak attack success over alpha")
    ax.grid(alpha=0.3)
    ordered = bool(np.all(np.diff(peak) < 0))
    rows = [
        [e, a, q] for e, a, q in zip(eig, report.alpha_star[order], peak, strict=True)
    ]
    return Outcome(
        fig,
        ["eigenvalue", "alpha_star", "peak_attack_success"],
        rows,
        "peak attack success decreases with the trigger's eigenvalue "
        f"(most damaging: eigenvalue {report.rayleigh[0]:g})",
        ordered and report.rayleigh[0] == sigma[0],
        dict(setup=str(setup), spectrum="linspace(1, 10, 24)", mean="eigvec 2"),
    )


def _dynamics_nc_convergence(quick: bool, data_dir: Path | None) -> Outcome:
    from ..dynamics import nc_convergence
    from ..dynamics._phenomena import table

    result = nc_convergence(K=8, depth=2, num=100 if quick else 400)
    header, rows = table(result)
    err = result.max_rel_error
    return Outcome(
        result.plot(),
        header,
        rows,
        f"integrator vs exact NC trajectory to t = 1e9: max relative error "
        f"{err:.1e} (pass below 1e-8)",
        err < 1e-8,
        dict(K=8, depth=2, n=1.0, s0=result.s0),
    )


def _dynamics_basin(quick: bool, data_dir: Path | None) -> Outcome:
    from ..dynamics import nc_basin
    from ..dynamics._phenomena import table

    kw = dict(depths=(3, 4, 5), rho=np.linspace(0.01, 0.99, 99)) if quick else {}
    result = nc_basin(**kw)
    header, rows = table(result)
    grows = bool(np.all(np.diff(result.rho_star, axis=1) >= 0))
    return Outcome(
        result.plot(),
        header,
        rows,
        f"basin of NC shrinks with depth (rho* non-decreasing) over "
        f"{result.trajectories} starts",
        grows,
        dict(
            K=result.K,
            depths=result.depths.tolist(),
            sigma0=result.sigma0.tolist(),
            quick=quick,
        ),
    )


def _ufm_mse_hessian(quick: bool, data_dir: Path | None) -> Outcome:
    from ..ufm import (
        construct,
        count_outliers,
        layer_hessian,
        mse_optimum,
        plot_hessian_spectrum,
    )

    K, n, depth, width = 4, 5, 4, 24 if quick else 64
    opt = mse_optimum(K, n, depth, lam_W=1e-3, lam_H=1e-3)
    factors = construct(opt, width=width, seed=0)
    layer = 2
    hess = layer_hessian(factors, layer, loss="mse")
    pred = opt.hessian_prediction(layer, width=width)
    count = count_outliers(hess.eigenvalues)
    top = hess.eigenvalues[: pred["count"]]
    err = float(np.max(np.abs(top - pred["outlier"])) / pred["outlier"])
    fig = plot_hessian_spectrum(
        hess.eigenvalues,
        pred["outlier"],
        pred["count"],
        title=f"layer-wise Hessian of W_{layer} at the optimum",
    )
    rows = [[i, v] for i, v in enumerate(hess.eigenvalues)]
    return Outcome(
        fig,
        ["index", "eigenvalue"],
        rows,
        f"{count} outliers (closed form K^2 = {pred['count']}) at the "
        f"closed-form value to {err:.1e}",
        count == pred["count"] and err < 1e-9,
        dict(K=K, n=n, depth=depth, width=width, lam=1e-3, layer=layer),
    )


def _ufm_ce_map(quick: bool, data_dir: Path | None) -> Outcome:
    from ..ufm import ce_map, plot_compare_map

    Ks = np.arange(2, 11 if quick else 13)
    depths = np.arange(2, 6 if quick else 8)
    cemap = ce_map(Ks, depths, n=1, lam=2.0**-10)
    found = set(cemap.winning_region())
    theorem = {
        (int(k), int(d) - 1)
        for k in Ks
        for d in depths
        if (k >= 4 and d - 1 >= 3) or (k >= 6 and d - 1 == 2)
    }
    rows = [
        [
            int(k),
            int(d),
            cemap.dnc_loss[i, j],
            cemap.lowrank_loss[i, j],
            cemap.margin[i, j],
        ]
        for i, k in enumerate(Ks)
        for j, d in enumerate(depths)
    ]
    return Outcome(
        plot_compare_map(cemap),
        ["K", "depth", "dnc_loss", "lowrank_loss", "margin"],
        rows,
        "low rank beats DNC exactly where the theorem says (K >= 4, L >= 3 "
        f"or K >= 6, L = 2): {len(found)} of {Ks.size * depths.size} cells",
        found == theorem,
        dict(n=1, lam=2.0**-10, Ks=Ks.tolist(), depths=depths.tolist()),
    )


def _landscape_complexity(quick: bool, data_dir: Path | None) -> Outcome:
    from ..landscape import complexity, complexity_log_potential, thresholds
    from ..landscape._plot import plot_complexity

    p = (3, 4, 5, 6)
    t = thresholds(list(p), 0)
    u = np.linspace(-2.2, 0.5, 200 if quick else 1000)
    routes = max(
        float(
            np.max(
                np.abs(complexity(u[::10], q) - complexity_log_potential(u[::10], q))
            )
        )
        for q in p
    )
    e0_p3 = float(t.E[0, 0])
    ok = abs(e0_p3 - 1.657) < 5e-4 and routes < 1e-9
    rows = [[q, float(t.E[i, 0]), float(t.E_inf[i])] for i, q in enumerate(p)]
    return Outcome(
        plot_complexity(p, u),
        ["p", "E_0", "E_inf"],
        rows,
        f"E_0(p=3) = {e0_p3:.5f} (published 1.657); two routes agree to {routes:.1e}",
        ok,
        dict(p=list(p)),
    )


def _landscape_finite_n(quick: bool, data_dir: Path | None) -> Outcome:
    from ..landscape import complexity, expected_counts
    from ..landscape._plot import plot_finite_n

    Ns = (4, 8, 16) if quick else (4, 8, 16, 24)
    u = np.linspace(-1.6, 0.0, 40)
    theta = complexity(u, 3)
    gaps, rows = [], []
    for n in Ns:
        finite = expected_counts(n, 3, u).complexity()
        gaps.append(float(np.mean(np.abs(finite - theta))))
        rows += [[n, a, b, c] for a, b, c in zip(u, finite, theta, strict=True)]
    shrinking = bool(np.all(np.diff(gaps) < 0))
    return Outcome(
        plot_finite_n(3, Ns, u=u),
        ["N", "u", "finite_N", "asymptotic"],
        rows,
        "mean |finite-N - asymptotic| shrinks with N: "
        + ", ".join(f"{g:.3f}" for g in gaps),
        shrinking,
        dict(p=3, N=list(Ns)),
    )


STEPS = [
    Step(
        "backdoor-theory-vs-simulation",
        "backdoor",
        "Backdoor: ridge theory vs finite-n simulation",
        _backdoor_theory_vs_simulation,
    ),
    Step(
        "backdoor-digits",
        "backdoor",
        "Backdoor on real digits: real data, Gaussian surrogate, theory",
        _backdoor_digits,
    ),
    Step(
        "backdoor-cifar10",
        "backdoor",
        "Backdoor on CIFAR-10 (cat -> dog): real data, surrogate, theory",
        _backdoor_cifar,
        needs_data_dir=True,
    ),
    Step(
        "backdoor-trigger-direction",
        "backdoor",
        "Backdoor: the most damaging trigger direction",
        _backdoor_trigger_direction,
    ),
    Step(
        "dynamics-nc-convergence",
        "dynamics",
        "UFM dynamics: convergence to neural collapse, exact vs integrated",
        _dynamics_nc_convergence,
    ),
    Step(
        "dynamics-basin",
        "dynamics",
        "UFM dynamics: the basin of neural collapse shrinks with depth",
        _dynamics_basin,
    ),
    Step(
        "ufm-mse-hessian",
        "ufm",
        "Deep linear UFM (MSE): K^2 Hessian outliers at the closed-form optimum",
        _ufm_mse_hessian,
    ),
    Step(
        "ufm-ce-dnc-vs-low-rank",
        "ufm",
        "Deep linear UFM (CE): where low-rank configurations beat DNC",
        _ufm_ce_map,
    ),
    Step(
        "landscape-complexity",
        "landscape",
        "Spin glass: complexity and thresholds for p = 3..6",
        _landscape_complexity,
    ),
    Step(
        "landscape-finite-n",
        "landscape",
        "Spin glass: finite-N counts approach the asymptotic complexity",
        _landscape_finite_n,
    ),
]

TOPICS = ("backdoor", "dynamics", "ufm", "landscape")
