"""`python -m dfkd_core.cli ...`: the `dfkd` command (e.g. under torchrun -m)."""

import sys

from . import main

sys.exit(main())
