"""The implicit bias of depth: the basin of neural collapse shrinks with depth.

Garrod, Keating & Thrampoulidis, "The Implicit Bias of Depth" (arXiv 2605.23087).
Thousands of spectral initial conditions sigma0 (1, ..., 1, rho) are integrated in one
batched C++ call per depth; rho* is the smallest ratio that still reaches neural
collapse. Deeper models need the last mode ever closer to the others.

Usage: ``python plot_depth_basin.py [OUTPUT_FOLDER]``
"""

import sys
from pathlib import Path

import numpy as np

from keatingcore import dynamics
from keatingcore._plotting import save_figure

out = Path(sys.argv[1] if len(sys.argv) > 1 else "examples/output")

# %% 6 depths x 2 scales x 200 ratios = 2,400 trajectories.
basin = dynamics.nc_basin(
    K=4,
    depths=(3, 4, 5, 6, 7, 8),
    sigma0=(0.1, 0.5),
    rho=np.geomspace(1e-3, 0.999, 200),
)
fig = basin.plot()
print(save_figure(fig, out / "depth_basin.png")[0])
