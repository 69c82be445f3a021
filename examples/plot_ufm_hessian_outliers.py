"""Deep linear UFM (MSE): the layer-wise Hessian at the optimum has K^2 outliers.

Garrod & Keating, "Unifying Low Dimensional Observations in Deep Learning Through the
Deep Linear Unconstrained Feature Model" (arXiv 2404.06106). The global optimum is
deep neural collapse in closed form; its layer-wise Hessian, computed exactly through
its Kronecker structure, has K^2 equal outliers at a closed-form value above a flat
bulk.

Usage: ``python plot_ufm_hessian_outliers.py [OUTPUT_FOLDER]``
"""

import sys
from pathlib import Path

from keatingcore import ufm
from keatingcore._plotting import save_figure

out = Path(sys.argv[1] if len(sys.argv) > 1 else "examples/output")

# %% The closed-form optimum, built as full matrices of width 64.
K, n, depth, width, layer = 4, 5, 4, 64, 2
optimum = ufm.mse_optimum(K, n, depth, lam_W=1e-3, lam_H=1e-3)
factors = ufm.construct(optimum, width=width, seed=0)
hessian = ufm.layer_hessian(factors, layer, loss="mse")
prediction = optimum.hessian_prediction(layer, width=width)

# %% Spectrum with the predicted outliers marked.
fig = ufm.plot_hessian_spectrum(
    hessian.eigenvalues,
    prediction["outlier"],
    prediction["count"],
    title=f"W_{layer} of a depth-{depth} UFM, K = {K}",
)
print(save_figure(fig, out / "ufm_hessian_outliers.png")[0])
