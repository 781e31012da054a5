"""The step plan: the format registry and the pure expansion of a recipe into steps."""
