"""Errors raised by the accuracy proxy. A bad config is the project's one `spec.SpecError`."""

from spec.errors import SpecError

__all__ = ["ActivationError", "ModelLoadError", "SpecError"]


class ActivationError(ValueError):
    """Captured activations are unusable (NaN/inf); the message names the layer and head."""


class ModelLoadError(ValueError):
    """A model path does not exist or does not hold a supported causal LM."""
