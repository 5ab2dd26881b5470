"""`python -m dse.study_report <storage-url>`: the documented command; the code: dse.results.study_report."""

import sys

from dse.results.study_report import main

if __name__ == "__main__":
    sys.exit(main())
