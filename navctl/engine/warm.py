"""Imported by the warm worker before it forks any step: the heavy modules every step would import.

Only imports happen here, no framework op: forking after an op has started thread pools is unsafe.
The list comes from NAVCTL_WARM_MODULES (set by the launcher); a module that fails to import is
left for the step to import (and report) itself.
"""

import contextlib
import importlib
import os

for _name in filter(None, os.environ.get("NAVCTL_WARM_MODULES", "").split(",")):
    # a failure is left for the step, which imports the module again and reports the real error
    with contextlib.suppress(Exception):
        importlib.import_module(_name)
