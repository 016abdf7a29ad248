"""`python -m dfkd_core ...`: the `dfkd` command (as `python -m dfkd_core.cli`), e.g. under torchrun -m."""

import sys

from dfkd_core.cli import main

sys.exit(main())
