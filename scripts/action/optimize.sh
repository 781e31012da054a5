#!/usr/bin/env bash
# navctl optimize on the recipes the globs match. navctl itself writes the step outputs, annotations
# and summary; this script makes sure `exit-code` is there whatever happened, and never fails the
# step (the Verdict step does, once the diff, report and upload have run).
set -uo pipefail
shopt -s nullglob globstar
recipes=()
# split on spaces and newlines without expanding, then expand each pattern on its own
read -r -d '' -a patterns <<<"${RECIPES:-}" || true
for pattern in "${patterns[@]}"; do
  # shellcheck disable=SC2206 # the glob is meant to expand
  matched=($pattern)
  if [ ${#matched[@]} -eq 0 ]; then
    echo "::error title=navctl action::no recipe matches '$pattern'"
    echo "exit-code=2" >>"${GITHUB_OUTPUT:-/dev/null}"
    exit 0
  fi
  recipes+=("${matched[@]}")
done
if [ ${#recipes[@]} -eq 0 ]; then
  echo "::error title=navctl action::the recipes input is empty"
  echo "exit-code=2" >>"${GITHUB_OUTPUT:-/dev/null}"
  exit 0
fi
command=(navctl optimize "${recipes[@]}")
if [ -n "${WORKSPACE:-}" ]; then
  command+=(--workspace "$WORKSPACE")
fi
# shellcheck disable=SC2206 # args holds several arguments
command+=(${ARGS:-})
echo "${command[*]}"
"${command[@]}"
code=$?
echo "exit-code=$code" >>"${GITHUB_OUTPUT:-/dev/null}"
exit 0
