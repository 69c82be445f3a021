"""Loss surfaces as spin glasses: complexity by index and its thresholds.

Baskerville, Keating, Mezzadri & Najnudel, "The loss surfaces of neural networks
with general activation functions" (J. Stat. Mech. 2021). The exact annealed
complexity of the spherical p-spin model, total and by Hessian index k, with the
thresholds -E_k marking where critical points of index k stop existing.

Usage: ``python plot_spin_glass_complexity.py [OUTPUT_FOLDER]``
"""

import sys
from pathlib import Path

from keatingcore._plotting import save_figure
from keatingcore.landscape._plot import plot_index_complexity

out = Path(sys.argv[1] if len(sys.argv) > 1 else "examples/output")

# %% p = 3, indices 0..5.
fig = plot_index_complexity(p=3, k=range(6))
print(save_figure(fig, out / "spin_glass_complexity.png")[0])
