"""Each step folder's `reproduce.sh`: the one command that reruns that step alone."""

from __future__ import annotations

import shlex
from pathlib import Path

from navctl.engine.launch import STEP_ENV, step_command


def write_reproduce(step_id: str, step_dir: Path) -> None:
    """`reproduce.sh`: the step alone, with the same environment, folder and command as every launch path."""
    up = "/".join([".."] * (len(Path(step_id).parts) + 1))
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in STEP_ENV.items())
    command = shlex.join(step_command(f"steps/{step_id}/spec.json"))
    script = (
        "#!/bin/sh\n"
        f"# Reruns step {step_id} alone, with the environment and working folder navctl gave it;\n"
        "# output goes to this terminal instead of the step's log. It overwrites result.json.\n"
        f'cd "$(dirname "$0")/{up}" || exit 1\n'
        f"export {env}\n"
        f"exec {command}\n"
    )
    path = step_dir / "reproduce.sh"
    path.write_text(script)
    path.chmod(0o755)
