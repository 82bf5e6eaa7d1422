"""``neurona playground``: serve the page where a network learns 2-D data in front of you.

The web server (Starlette on uvicorn) is an optional extra, imported only when this
command runs: ``pip install neurona[playground]``.
"""

from __future__ import annotations

import argparse
import threading
import webbrowser
from typing import Any

from .errors import UserError


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number between 1 and 65535. Received: {text!r}")
    return value


def add_parser(sub: Any) -> None:
    p = sub.add_parser("playground", help="a web page where a small network learns 2-D data live (needs the "
                                          "playground extra)")
    p.add_argument("--port", type=_port, default=8000, help="default 8000")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 opens it to the network)")
    p.add_argument("--open", action="store_true", help="open the page in the default browser")
    p.set_defaults(run=cmd_playground)


def cmd_playground(args: argparse.Namespace) -> int:
    try:
        from ..playground import server
    except ImportError as exc:
        raise UserError(f"the playground needs its web server ({exc.name or exc}): "
                        "pip install neurona[playground]") from None
    url = f"http://{'127.0.0.1' if args.host in ('0.0.0.0', '::') else args.host}:{args.port}/"
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"neurona: warning: listening on {args.host}: other machines can reach the playground")
    print(f"neurona playground: open {url} (Ctrl+C stops it)", flush=True)
    if args.open:
        threading.Timer(1.0, webbrowser.open, (url,)).start()
    server.serve(args.host, args.port)
    return 0
