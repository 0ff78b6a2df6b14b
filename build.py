"""`python build.py` == `digest build` (extra arguments are passed on)."""

import sys

from digest.cli import main

if __name__ == "__main__":
    sys.exit(main(["build", *sys.argv[1:]]))
