"""A minimal HTTP/1.1 client over persistent asyncio connections, for load from tests.

httpx spends most of its time in its connection pool's bookkeeping once dozens of requests are in
flight (measured here: ~150 requests/s at 64 concurrent, against ~1k/s for this client). This
one keeps a fixed set of keep-alive connections to one host and speaks just what our service
needs: requests with a Content-Length body, answers with a Content-Length. Any transport
problem drops that connection and raises ``TransportFailure``; the next request reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import urlsplit

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class TransportFailure(Exception):
    """No complete answer: refused, reset, closed early, timed out. ``kind`` names the cause."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


class KeepAliveClient:
    def __init__(
        self,
        base_url: str,
        *,
        connections: int = 64,
        timeout: float = 10.0,
        source: str | None = None,
    ) -> None:
        """``source``: the local address to connect from (e.g. ``127.0.0.2``), else any."""
        parts = urlsplit(base_url)
        self._local = (source, 0) if source else None
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._timeout = timeout
        self._idle: asyncio.Queue[Connection | None] = asyncio.Queue()
        for _ in range(connections):
            self._idle.put_nowait(None)

    async def __aenter__(self) -> KeepAliveClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        while not self._idle.empty():
            conn = self._idle.get_nowait()
            if conn is not None:
                conn[1].close()

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> Response:
        conn = await self._idle.get()
        keep: Connection | None = None
        try:
            async with asyncio.timeout(self._timeout):
                if conn is None:
                    conn = await asyncio.open_connection(
                        self._host, self._port, local_addr=self._local
                    )
                response, reusable = await _exchange(conn, method, path, body, headers or {})
            keep = conn if reusable else None
            return response
        except TimeoutError:
            raise TransportFailure("timeout") from None
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            raise TransportFailure(type(exc).__name__) from None
        finally:
            if keep is None and conn is not None:
                conn[1].close()
                with contextlib.suppress(Exception):
                    await conn[1].wait_closed()
            self._idle.put_nowait(keep)

    async def post(self, path: str, body: bytes, headers: Mapping[str, str]) -> Response:
        return await self.request("POST", path, body, headers)

    async def get(self, path: str) -> Response:
        return await self.request("GET", path)


async def _exchange(
    conn: Connection, method: str, path: str, body: bytes, headers: Mapping[str, str]
) -> tuple[Response, bool]:
    reader, writer = conn
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    head.extend(f"{name}: {value}" for name, value in headers.items())
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
    await writer.drain()
    raw = await reader.readuntil(b"\r\n\r\n")
    status_line, *lines = raw.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    answer = {}
    for line in lines:
        if line:
            name, _, value = line.partition(":")
            answer[name.strip().lower()] = value.strip()
    if "content-length" not in answer:
        raise ValueError("answer without Content-Length")
    payload = await reader.readexactly(int(answer["content-length"]))
    reusable = answer.get("connection", "").lower() != "close"
    return Response(status, answer, payload), reusable
