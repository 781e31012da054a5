#!/usr/bin/env bash
# actions/setup-python keys its pip cache on files inside the checkout only: copy the files that decide
# what pip installs (navctl's pyproject.toml, the constraints) into .navctl-action/ for it to hash.
set -euo pipefail
keys="${GITHUB_WORKSPACE:-$PWD}/.navctl-action"
mkdir -p "$keys"
cp "$ACTION_PATH/pyproject.toml" "$keys/pyproject.toml"
if [ -n "${CONSTRAINTS:-}" ]; then
  cp "$CONSTRAINTS" "$keys/constraints.txt"
fi
