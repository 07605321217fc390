"""Run the command line: ``python -m scoring estimate|weights ...`` (see :mod:`scoring.cli`)."""

import sys

from scoring.cli import main

sys.exit(main())
