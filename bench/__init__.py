"""Benchmarks run by `make bench`; each module compares parity with a bare baseline in the same run."""
