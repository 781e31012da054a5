"""`python -m navctl.steps SPEC.json`: run one step alone (what reproduce.sh calls)."""

import sys

from navctl.steps.child import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
