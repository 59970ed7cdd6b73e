"""Benchmarks (not part of the pass/fail suite): `make bench` runs them all."""
