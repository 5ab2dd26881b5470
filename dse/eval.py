"""`python -m dse.eval [hydra overrides]`: the documented command; the code is dse.app.eval."""

import sys

from dse.app.eval import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
