"""Deployment: Triton model repositories and serving through PyTriton."""
