"""One-line errors for command-line overrides Hydra's grammar rejects (`'x=choice()'`, an unclosed
bracket), which Hydra itself reports on several lines before any sweeper or task runs."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException


def override_error(argv: Sequence[str]) -> str | None:
    """The first override of `argv` Hydra's grammar rejects, as one line; None when all parse.

    Hydra's own flags (`-m`, `--cfg job`, `-cn name`) and their values are left alone: only
    arguments holding `=` or starting with `~` are overrides."""
    parser = OverridesParser.create()
    for arg in argv:
        if arg.startswith("-") or ("=" not in arg and not arg.startswith("~")):
            continue
        try:
            parser.parse_overrides([arg])
        except HydraException as err:
            lines = [line.strip() for line in str(err).splitlines() if line.strip()]
            # Hydra's first line repeats the override; the second says what is wrong with it.
            reason = lines[1] if len(lines) > 1 and not lines[1].startswith("See ") else lines[0]
            return f"cannot parse '{arg}': {reason}"
    return None


def one_line_errors(
    prog: str, *checks: Callable[[Sequence[str]], str | None]
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a `@hydra.main` entry point: when called as a console script (no arguments), the
    first of `checks` (each: argv -> one-line message or None) that finds a mistake in sys.argv ends
    the program with `<prog>: error: ...` and exit status 2. `override_error` runs before them."""

    def wrap(main: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(main)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if not args and not kwargs:
                for check in (override_error, *checks):
                    error = check(sys.argv[1:])
                    if error is not None:
                        print(f"{prog}: error: {error}", file=sys.stderr)
                        sys.exit(2)
            return main(*args, **kwargs)

        return checked

    return wrap
