"""What the command line reports as a user's mistake, and the "did you mean" that goes with it."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable


class UserError(Exception):
    """A mistake in the command line or its inputs: reported in full, without a traceback, exit status 2."""


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """' Did you mean 'x'?' for the closest option (nothing when none is close)."""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


# the library names its arguments; the command line names its flags
_FLAGS = (
    ("pass image_size=(height, width) to resize them all", "pass --image-size HxW to resize them all"),
    ("image_size=", "--image-size "),
    ("validation_split=", "--val-split "),
    ("color_mode=", "--color "),
    ("task=", "--task "),
)


def as_flags(message: str) -> str:
    """A library error message with its argument names written as the command line's flags."""
    for library, flag in _FLAGS:
        message = message.replace(library, flag)
    # drop=['id', 'name'] -> --drop id,name
    return re.sub(r"drop=\[([^\]]*)\]", lambda m: "--drop " + ",".join(re.findall(r"'([^']*)'", m[1])), message)
