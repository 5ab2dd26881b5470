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
        super().__init__(f"{path}={value!r}: {allowed}")
