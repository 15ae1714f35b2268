"""``python -m mesa_report.cli``: the ``mesa-report`` command."""

import sys

from mesa_report.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
