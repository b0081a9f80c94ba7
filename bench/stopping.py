"""How a bench that trains ends on a stop signal or a bad input: as `strtool train`
does, with one line on stderr instead of a traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable


def run_bench(main: Callable[[], object]) -> None:
    """Call a bench's `main()`. SIGINT / SIGTERM during a run (`Interrupted`: the run
    saved `last.pt` at a step boundary, and the bench resumes it when started again)
    exits with 128 + the signal number; a strtool error (bad input, config) exits 1."""
    from strtool.errors import Interrupted, StrtoolError

    try:
        main()
    except Interrupted as e:
        print(f"interrupted: {e} (run the bench again to resume)", file=sys.stderr)
        sys.exit(128 + e.signum)
    except StrtoolError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
