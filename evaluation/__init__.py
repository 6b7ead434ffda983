"""Evaluation on the paper's five benchmarks (ChartMimic, Design2Code, UniSVG, Image2Struct-LaTeX, ChemDraw), each
with its official metric as written in ../shared/specs/metrics.md."""
