"""Step fingerprints: what a step's result depends on, hashed. Equal fingerprint = reusable result."""

from __future__ import annotations

from navctl.hashing import sha256_json


def fingerprint(spec: dict, dep_artifacts: list[str], user_files: dict[str, str], versions: dict[str, str]) -> str:
    """sha256 of the canonical spec, the input artifacts' hashes, the user files the step reads (path ->
    sha256, navctl.engine.user_files) and the versions."""
    return sha256_json({"spec": spec, "inputs": sorted(dep_artifacts), "user_files": user_files, "versions": versions})
