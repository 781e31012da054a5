"""Measurement (windows until stable), the batch sweep, and the selection strategies."""
