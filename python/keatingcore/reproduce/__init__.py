"""``keatingcore reproduce``: every paper's headline results in one resumable command.

Each result is a :class:`Step`: it computes its numbers, draws its figure and runs the
check that makes it trustworthy (theory against simulation, a closed form, a published
value). :func:`reproduce` writes per result a folder with the figure (PNG and PDF), the
numbers (CSV), a JSON sidecar (settings, seed, versions, build configuration, the check)
and finally an ``index.md`` report. Finished results are skipped on a re-run; killing
the run loses at most the result in flight.
"""

from ._runner import Outcome, ReproduceReport, Step, reproduce
from ._steps import STEPS, TOPICS

__all__ = ["STEPS", "TOPICS", "Outcome", "ReproduceReport", "Step", "reproduce"]
