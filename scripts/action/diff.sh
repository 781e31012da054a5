#!/usr/bin/env bash
# navctl diff of each new package (else workspace) against the baseline: the baseline itself when it is
# a package or a workspace, else the file of the same name found under it (a downloaded artifact).
set -uo pipefail
new=()
while IFS= read -r line; do
  [ -n "$line" ] && new+=("$line")
done <<<"${PACKAGES:-}"
if [ ${#new[@]} -eq 0 ]; then
  while IFS= read -r line; do
    [ -n "$line" ] && new+=("$line")
  done <<<"${WORKSPACES:-}"
fi
worst=0
total=0
for target in "${new[@]}"; do
  if [ -f "$BASELINE" ] || [ -f "$BASELINE/status.yaml" ]; then
    base="$BASELINE"
  else
    base=$(find "$BASELINE" -name "$(basename "$target")" -print -quit 2>/dev/null)
  fi
  if [ -z "$base" ]; then
    echo "::warning title=navctl diff::no baseline for $(basename "$target") under $BASELINE; not compared"
    continue
  fi
  outputs=$(mktemp)
  GITHUB_OUTPUT="$outputs" navctl diff "$base" "$target" \
    --fail-on-regression "${THRESHOLD:-5%}" --compare "${COMPARE:-relative}"
  code=$?
  count=$(sed -n 's/^regressions=//p' "$outputs" | tail -n 1)
  rm -f "$outputs"
  total=$((total + ${count:-0}))
  if [ "$code" -gt "$worst" ]; then
    worst=$code
  fi
done
{
  echo "regressions=$total"
  echo "diff-exit-code=$worst"
} >>"${GITHUB_OUTPUT:-/dev/null}"
exit 0
