"""The playground: a web page where a small network learns 2-D teaching sets in front of you.

The network trains in neurona itself, on the server (``neurona playground``); the page
only draws. ``settings`` checks what the page asks for, ``data`` makes the points and
input features, ``session`` trains one tab's network, ``export`` writes the same run
as a neurona script, and ``server`` (Starlette, the optional ``playground`` extra) serves
the page and streams the session's state over a WebSocket.

This package imports no web framework: only ``neurona.playground.server`` does.
"""

from .export import python_code
from .session import Session
from .settings import LIMITS, Settings, SettingsError, parse_settings

__all__ = ["LIMITS", "Session", "Settings", "SettingsError", "parse_settings", "python_code"]
