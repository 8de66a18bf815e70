"""Terminal display of a digit image."""


from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from .mnist import IMAGE_SIDE

# ---------------------------------------------------------------------------------------------------------------------
# Terminal display
# ---------------------------------------------------------------------------------------------------------------------

_RAMP = " .:-=+*#%@"


def ascii_digit(image: np.ndarray, double_width: bool = True) -> str:
    """Draw a 28x28 image (784 values, flat or 28x28; floats in [0, 1] or uint8 0..255) with the characters
    ``" .:-=+*#%@"``, dark to bright. Returns 28 lines joined by newlines; each pixel is two characters wide
    when ``double_width`` (terminal cells are about twice as tall as wide)."""
    a = np.asarray(image)
    if a.size != IMAGE_SIDE * IMAGE_SIDE:
        raise ShapeError(f"ascii_digit: expected 784 values (28x28), got shape {a.shape}")
    a = a.reshape(IMAGE_SIDE, IMAGE_SIDE).astype(np.float64)
    if np.issubdtype(np.asarray(image).dtype, np.integer):
        a = a / 255.0
    a = np.nan_to_num(np.clip(a, 0.0, 1.0))
    levels = np.minimum((a * len(_RAMP)).astype(int), len(_RAMP) - 1)
    w = 2 if double_width else 1
    return "\n".join("".join(_RAMP[v] * w for v in row) for row in levels)
