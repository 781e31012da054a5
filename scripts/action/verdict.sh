#!/usr/bin/env bash
# The step's verdict, once everything else ran: optimize's exit code (with fail-on-error), then diff's.
set -euo pipefail
code="${OPTIMIZE_CODE:-}"
if [ -z "$code" ]; then
  echo "::error title=navctl action::navctl optimize did not run"
  exit 1
fi
if [ "$code" != "0" ] && [ "${FAIL_ON_ERROR:-true}" = "true" ]; then
  echo "navctl optimize exited with $code"
  exit "$code"
fi
if [ -n "${DIFF_CODE:-}" ] && [ "$DIFF_CODE" != "0" ]; then
  echo "navctl diff found regressions beyond the threshold (exit $DIFF_CODE)"
  exit "$DIFF_CODE"
fi
echo "navctl: ok"
