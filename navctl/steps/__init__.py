"""Code that runs inside step subprocesses. Frameworks are imported here, never in the parent."""
