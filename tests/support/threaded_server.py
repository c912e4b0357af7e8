"""The real app behind uvicorn on 127.0.0.1, in a thread with its own event loop.

For synchronous clients (schemathesis calls through ``requests``): a server inside the test's own
event loop would never run while a synchronous test blocks on its answer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from app.settings import Settings
from app.web import create_app


@contextmanager
def server_in_thread(settings: Settings, start_timeout: float = 30.0) -> Iterator[str]:
    """Yields the base URL once the app's lifespan has started; stops the server on exit."""
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=0,
        log_config=None,
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="hookledger-test-server", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + start_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("server thread did not start")
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
