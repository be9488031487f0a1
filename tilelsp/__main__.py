"""`python -m tilelsp`: the language server (same as the `tilelsp` command)."""

import sys

from .server import main

sys.exit(main())
