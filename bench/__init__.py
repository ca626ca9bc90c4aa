"""Benchmarks of issue 5: `python bench/run.py [--quick] [--server postgresql|sqlite|URI]`."""
