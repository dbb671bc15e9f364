"""Values from the page or the API, checked before use: a bad one becomes a message (gr.Error).

Every event of the demo skips Gradio's preprocessing (``preprocess=False``): the photo events must
(see demo.widgets.photo_input), and for the others Gradio's checks would let NaN through, answer a
wrong type with a bare "Error", and not cover direct Python calls anyway. So each handler checks its
own inputs with these functions, and the page, the API and Python callers get the same messages.
"""

from __future__ import annotations

import math
from numbers import Real

import gradio as gr

MAX_SEED = 2**31 - 1  # seeds are 0..MAX_SEED (what the page's number fields allow)


def shown(value: object, limit: int = 40) -> str:
    """A caller's value quoted for a message, cut short (a message never echoes a long string)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def number(value: object, name: str, low: float, high: float) -> float:
    """A finite number in low..high; anything else (NaN, infinity, text, None) is a message."""
    if not _finite_in(value, low, high):
        raise gr.Error(f"{name} must be a number from {low:g} to {high:g}, not {shown(value)}.")
    return float(value)


def as_slider_holds(value: object, low: float, high: float) -> object:
    """A page slider's value as the slider shows it: a number typed past either end is taken at that
    end, where the slider itself moves (an error there left the photo at the old value while the
    slider showed the new one). Anything else is left for `number` to turn into a message."""
    return min(max(value, low), high) if _finite_in(value, -math.inf, math.inf) else value


def whole(value: object, name: str, low: int, high: int) -> int:
    """A whole number in low..high (7 and 7.0 are fine, 7.5 is not)."""
    if not _finite_in(value, low, high) or value != int(value):
        raise gr.Error(f"{name} must be a whole number from {low} to {high}, not {shown(value)}.")
    return int(value)


def _finite_in(value: object, low: float, high: float) -> bool:
    """A real number (not a bool), finite, within low..high."""
    return (
        not isinstance(value, bool)
        and isinstance(value, Real)
        and math.isfinite(value)
        and low <= value <= high
    )


def valid_seed(value: object) -> int:
    return whole(value, "The seed", 0, MAX_SEED)
