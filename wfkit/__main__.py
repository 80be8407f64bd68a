"""`python -m wfkit` runs the same command line as the `wfkit` script."""

import sys

from wfkit.cli.main import main

sys.exit(main())
