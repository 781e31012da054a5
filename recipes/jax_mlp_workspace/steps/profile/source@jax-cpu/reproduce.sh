#!/bin/sh
# Reruns step profile/source@jax-cpu alone, exactly as navctl ran it (output to this terminal).
cd "$(dirname "$0")/../../.." || exit 1
PYTHONFAULTHANDLER=1 exec /tmp/tri-venv/bin/python3 -m navctl.steps steps/profile/source@jax-cpu/spec.json
