"""Synthetic public-format files with known answers, for tests, benchmarks and the demo.

A generator here writes a file the way a publisher would (streamed to disk, any size) and returns the rows
a correct reader must produce from it, so a test can compare exactly instead of eyeballing.
"""

from __future__ import annotations

from .tic import SynthResult, TicSynthOptions, measure_shape, write_in_network

__all__ = ["SynthResult", "TicSynthOptions", "measure_shape", "write_in_network"]
