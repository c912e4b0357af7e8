"""The real app behind a real uvicorn server on 127.0.0.1, inside the test's event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal

import uvicorn

from app.settings import Settings
from app.web import create_app


@asynccontextmanager
async def serving(app: Callable[..., Any], *, lifespan: Literal["on", "off"]) -> AsyncIterator[int]:
    """Serves ``app`` with uvicorn on 127.0.0.1 in this event loop; yields the port once it has
    started (with ``lifespan="on"``: once the app's start-up has run)."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_config=None, access_log=False, lifespan=lifespan
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("server stopped during start-up")
            await asyncio.sleep(0.01)
        yield int(server.servers[0].sockets[0].getsockname()[1])
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def running_server(settings: Settings) -> AsyncIterator[str]:
    """Yields the base URL once the app's lifespan (pool, migrations, appender) has started."""
    async with serving(create_app(settings), lifespan="on") as port:
        yield f"http://127.0.0.1:{port}"
