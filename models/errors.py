"""Errors raised by the accuracy proxy."""


class SpecError(ValueError):
    """A configuration value is invalid; the message is one line naming the dotted field."""

    def __init__(self, field: str, value: object, allowed: str) -> None:
        super().__init__(f"{field}={value!r}: {allowed}")
        self.field = field
        self.value = value


class ActivationError(ValueError):
    """Captured activations are unusable (NaN/inf); the message names the layer and head."""


class ModelLoadError(ValueError):
    """A model path does not exist or does not hold a supported causal LM."""
