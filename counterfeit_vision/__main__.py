"""``python -m counterfeit_vision``: the same as the ``counterfeit-vision`` command."""

import sys

from counterfeit_vision.cli.main import main

sys.exit(main())
