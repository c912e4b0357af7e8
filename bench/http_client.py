"""A minimal keep-alive HTTP/1.1 client connection for load generation.

One request in flight per connection. Requests are pre-built bytes; a response is parsed only as
far as a load generator needs: the status code, Content-Length and the body. It is an
``asyncio.Protocol`` rather than streams because the per-response callback path is the cheapest
asyncio offers, which keeps the generator from becoming the bottleneck.
"""

from __future__ import annotations

import asyncio
from typing import cast


class ConnectionClosed(ConnectionError):
    """The server closed the connection, or answered something this client cannot frame."""


class HttpConnection(asyncio.Protocol):
    def __init__(self) -> None:
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self._closed = False
        self.address = ("", 0)

    @classmethod
    async def open(cls, host: str, port: int) -> HttpConnection:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(cls, host, port)
        protocol.address = (host, port)
        return protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self._transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._fail(ConnectionClosed(str(exc) if exc else "connection closed by server"))

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        self._complete()

    async def request(self, data: bytes) -> tuple[int, bytes]:
        """Sends ``data`` and returns ``(status, body)`` of the answer."""
        if self._closed or self._transport is None:
            raise ConnectionClosed("connection is closed")
        waiter: asyncio.Future[tuple[int, bytes]] = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        self._transport.write(data)
        return await waiter

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def _complete(self) -> None:
        buffer = self._buffer
        head_end = buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return
        head = bytes(buffer[:head_end]).lower()
        marker = head.find(b"\r\ncontent-length:")
        if not head.startswith(b"http/1.1 ") or marker < 0:
            self._fail(ConnectionClosed("response without Content-Length"))
            self.close()
            return
        value_end = head.find(b"\r\n", marker + 2)
        length = int(head[marker + 17 : value_end if value_end >= 0 else len(head)])
        total = head_end + 4 + length
        if len(buffer) < total:
            return
        body = bytes(buffer[head_end + 4 : total])
        del buffer[:total]
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((int(head[9:12]), body))

    def _fail(self, error: Exception) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)
