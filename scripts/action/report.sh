#!/usr/bin/env bash
# navctl report of the run(s): report.html (and report.md) in one folder for the artifact.
set -uo pipefail
targets=()
while IFS= read -r line; do
  [ -n "$line" ] && targets+=("$line")
done <<<"${WORKSPACES:-}"
out="${REPORT_DIR:-navctl-report}"
if navctl report "${targets[@]}" --out "$out"; then
  echo "report=$out" >>"${GITHUB_OUTPUT:-/dev/null}"
else
  echo "::warning title=navctl report::the report could not be written"
fi
exit 0
