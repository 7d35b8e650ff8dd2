"""Measurement: evaluation, calibration, benchmark, NLU report. Runtime code never imports it."""
