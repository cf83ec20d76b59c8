"""``python -m api.cli``: the ``inventory`` command line."""

import sys

from api.cli import main

sys.exit(main())
