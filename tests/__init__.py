"""Lockgate's test suite.

The suite runs the evaluator's Python source, whose line coverage it measures; `make test` runs
the evaluation and differential tests once more against the evaluator compiled by mypyc
(docs/sdk.md §Compiled evaluator), with ``LOCKGATE_EVALUATOR=compiled``. Chosen here, before
anything imports lockgate, and inherited by the servers the tests start.
"""

import os

os.environ.setdefault("LOCKGATE_EVALUATOR", "pure")
