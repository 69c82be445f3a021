"""Benchmarks of keatingcore against the field's baselines.

Each ``bench_<topic>.py`` defines ``bench_*`` functions returning a list of
:class:`keatingcore._bench.Figure`. Run them all with ``python -m bench`` or
``keatingcore bench`` from the repository root; results go to ``bench/results/``.
"""
