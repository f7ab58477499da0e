"""Allow ``python -m canapy``."""

from __future__ import annotations

import sys

from canapy.cli import main

if __name__ == "__main__":
    sys.exit(main())
