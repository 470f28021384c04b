"""The benchmark's measurements, one module per concern; scripts/bench.py runs them in turn
over one ``Bench`` (the run's mode, media, server and results)."""
