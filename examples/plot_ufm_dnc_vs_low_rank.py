"""Deep linear UFM (cross-entropy): low-rank configurations beat deep neural collapse.

Garrod & Keating, "The Persistence of Neural Collapse Despite Low-Rank Bias"
(arXiv 2410.23169). The relative loss margin of the paired low-rank configuration over
DNC across class counts K and depths: positive exactly where K >= 4 and L >= 3, or
K >= 6 and L = 2 (L weight matrices). One C++ call minimises all the reduced losses.

Usage: ``python plot_ufm_dnc_vs_low_rank.py [OUTPUT_FOLDER]``
"""

import sys
from pathlib import Path

import numpy as np

from keatingcore import ufm
from keatingcore._plotting import save_figure

out = Path(sys.argv[1] if len(sys.argv) > 1 else "examples/output")

# %% The (K, depth) map at a small regularisation.
cemap = ufm.ce_map(np.arange(2, 13), np.arange(2, 8), n=1, lam=2.0**-10)
fig = ufm.plot_compare_map(cemap)
print(save_figure(fig, out / "ufm_dnc_vs_low_rank.png")[0])
