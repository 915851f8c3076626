"""``python -m openclaw_convos``: the same command line as ``openclaw-convos``."""

import sys

from .cli.main import main

if __name__ == "__main__":
    sys.exit(main())
