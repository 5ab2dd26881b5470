"""The one error type of hw/: a bad specification, reported on one line."""

from __future__ import annotations


class SpecError(ValueError):
    """Invalid hardware, algorithm, model or workload spec.

    The message is one line: the dotted field path, the offending value and what is allowed.
    """

    def __init__(self, path: str, value: object, allowed: str) -> None:
        self.path = path
        self.value = value
        self.allowed = allowed
        super().__init__(f"{path}={_show(value)}: {allowed}")


def _show(value: object) -> str:
    """The value as the user wrote it: specs hold numbers as floats, but 3.0 was typed as 3."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)
