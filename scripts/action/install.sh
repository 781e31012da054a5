#!/usr/bin/env bash
# pip-install navctl from the action's own checkout with the extras asked for.
set -euo pipefail
args=()
if [ -n "${CONSTRAINTS:-}" ]; then
  if [ ! -f "$CONSTRAINTS" ]; then
    echo "::error title=navctl action::constraints file not found: $CONSTRAINTS"
    exit 2
  fi
  args+=(-c "$CONSTRAINTS")
fi
# word-splitting is wanted here: pip-args holds several arguments
# shellcheck disable=SC2206
extra=(${PIP_ARGS:-})
spec="$ACTION_PATH"
if [ -n "${EXTRAS:-}" ]; then
  spec="$ACTION_PATH[${EXTRAS// /}]"
fi
python -m pip install --disable-pip-version-check "${args[@]}" "${extra[@]}" "$spec"
