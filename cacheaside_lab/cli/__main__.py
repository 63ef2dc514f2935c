"""``python -m cacheaside_lab.cli``: the same as the ``cacheaside-lab`` command.

Guarded so that importing every module (as the layout test does) does not run the command line.
"""

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
