"""The playground's web server: the page, its options, and one training session per WebSocket.

Starlette on uvicorn (``pip install neurona[playground]``). Each tab opens one WebSocket
to ``/ws`` and owns one ``Session`` for as long as that socket lives; closing the tab
ends it. All sessions train on one worker thread, a frame at a time (at most
``session.CPU_PER_FRAME`` seconds of CPU, then the state goes to the page), so a
handful of tabs share one core and the event loop stays free to answer.

Messages from the page are JSON objects ``{"action": ...}``: configure (with
``settings``), play, pause, step, reset, export, state. Replies are ``state``,
``code`` or ``error`` objects; bad input gets an ``error`` reply, never a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from . import settings as options
from .session import Session

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
MAX_SESSIONS = 8
FRAME_PAUSE = 0.02  # seconds between frames while playing: room for the page's messages and other tabs
_CLOSED = object()


def _options(request: Any) -> JSONResponse:
    """The choices, bounds and defaults the page builds its controls from."""
    defaults = options.Settings()
    return JSONResponse({
        "choices": {"dataset": options.DATASETS, "features": options.FEATURES, "activation": options.ACTIVATIONS,
                    "optimizer": options.OPTIMIZERS, "regularization": options.REGULARIZATIONS,
                    "problem": options.PROBLEMS, "model": options.MODELS},
        "limits": options.LIMITS, "defaults": defaults.to_dict(),
        "settings": [f.name for f in fields(options.Settings)],
    })


def _index(request: Any) -> FileResponse:
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


class Playground:
    """The sessions of the open tabs and the one thread they train on."""

    def __init__(self, max_sessions: int = MAX_SESSIONS) -> None:
        self.max_sessions = max_sessions
        self.sessions: set[Session] = set()
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="playground")

    async def _run(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.worker, fn, *args)

    async def _work(self, session: Session, fn: Any, *args: Any) -> tuple[Any, list[dict[str, Any]]]:
        """Run ``fn`` on the worker thread: (its result, []), or (None, [an error reply]) when it fails
        unexpectedly (a bug, memory), so that this tab hears of it and the server goes on."""
        try:
            return await self._run(fn, *args), []
        except Exception as exc:
            log.exception("playground: a session failed")
            session.running = False
            return None, [{"type": "error", "message": f"the server could not go on ({type(exc).__name__}: {exc}). "
                                                       "Press reset, or reload the page."}]

    async def websocket(self, ws: WebSocket) -> None:
        origin = ws.headers.get("origin")
        if origin and urlsplit(origin).netloc != ws.headers.get("host"):
            await ws.close(code=1008)  # another site's page in the user's browser: not ours to serve
            return
        await ws.accept()
        if len(self.sessions) >= self.max_sessions:
            await ws.send_json({"type": "error", "message": f"too many open playground tabs: at most "
                                f"{self.max_sessions} train at once. Close one and reload this page."})
            await ws.close()
            return
        session = await self._run(Session)  # the default settings: cannot fail on bad input
        self.sessions.add(session)
        inbox: asyncio.Queue = asyncio.Queue()
        reader = asyncio.create_task(self._read(ws, inbox))
        try:
            await ws.send_json(await self._run(session.state, True))
            while True:
                if session.running and inbox.empty():
                    _, replies = await self._work(session, session.frame)
                    state, more = await self._work(session, session.state)
                    for reply in ([state] if state else []) + replies + more:
                        await ws.send_json(reply)
                    if session.diverged:
                        await ws.send_json({"type": "error", "message": _diverged(session)})
                    await asyncio.sleep(FRAME_PAUSE)
                    continue
                text = await inbox.get()
                if text is _CLOSED:
                    break
                replies, failed = await self._work(session, session.handle, text)
                for reply in (replies or []) + failed:
                    await ws.send_json(reply)
        except (WebSocketDisconnect, RuntimeError, OSError):  # the tab went away mid-send
            pass
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            session.running = False
            self.sessions.discard(session)

    @staticmethod
    async def _read(ws: WebSocket, inbox: asyncio.Queue) -> None:
        try:
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None:  # a binary frame: let the session say what it expected
                    text = "<binary message>"
                inbox.put_nowait(text)
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        finally:
            inbox.put_nowait(_CLOSED)

    def close(self) -> None:
        self.worker.shutdown(wait=False, cancel_futures=True)


def _diverged(session: Session) -> str:
    return (f"the loss stopped being a finite number at epoch {session.epoch}: the learning rate "
            f"({session.settings.lr:g}) is probably too high. Lower it and press reset.")


def create_app(max_sessions: int = MAX_SESSIONS) -> Starlette:
    """The playground's ASGI application (serve it with uvicorn, or test it with Starlette's TestClient)."""
    playground = Playground(max_sessions)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        yield
        playground.close()

    app = Starlette(routes=[
        Route("/", _index),
        Route("/api/options", _options),
        WebSocketRoute("/ws", playground.websocket),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ], lifespan=lifespan)
    app.state.playground = playground
    return app


def serve(host: str = "127.0.0.1", port: int = 8000, log_level: str = "warning") -> None:
    """Serve the playground until interrupted (binds to this machine only unless ``host`` says otherwise)."""
    import uvicorn

    uvicorn.run(create_app(), host=host, port=port, log_level=log_level)
