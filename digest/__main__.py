"""`python -m digest`, and the `digest` command."""

from __future__ import annotations

import os


def main() -> None:
    """Run the command line; Ctrl-C while it is still starting up ends it quietly too."""
    try:
        from digest.cli import run
    except KeyboardInterrupt:
        os._exit(130)
    run()


if __name__ == "__main__":
    main()
