"""Step fingerprints: what a step's result depends on, hashed. Equal fingerprint = reusable result."""

from __future__ import annotations

from pathlib import Path

from navctl.hashing import sha256_json, sha256_path


def user_file_hashes(files: list[Path]) -> dict[str, str]:
    """sha256 of the user's own files the recipe names (model, dataloader, verify code, model files)."""
    out = {}
    for file in files:
        out[str(file)] = sha256_path(file) if file.exists() else "missing"
    return out


def fingerprint(spec: dict, dep_artifacts: list[str], user_files: dict[str, str], versions: dict[str, str]) -> str:
    """sha256 of the canonical spec, the input artifacts' hashes, the user files and the versions."""
    return sha256_json({"spec": spec, "inputs": sorted(dep_artifacts), "user_files": user_files, "versions": versions})
