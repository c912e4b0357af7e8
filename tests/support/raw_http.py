"""Raw HTTP/1.1 over an asyncio socket, for requests an HTTP client refuses to send or would
normalise: a lying Content-Length, both Content-Length and chunked, exact request targets
(``//webhooks/stripe``, ``%2e%2e``). Only ever talks to 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class RawAnswer:
    """What came back on the socket. ``status`` is None when the connection closed (or the wait
    timed out) before a full status line arrived."""

    status: int | None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    timed_out: bool = False


def build_request(
    method: str,
    target: str,
    headers: Iterable[tuple[str, str]],
    body: bytes = b"",
    *,
    content_length: int | None = -1,
) -> bytes:
    """One request, byte for byte. ``content_length=-1`` sends the true length, ``None`` sends
    no Content-Length header at all, any other value is sent as given (a lie)."""
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    if content_length == -1:
        lines.append(f"Content-Length: {len(body)}")
    elif content_length is not None:
        lines.append(f"Content-Length: {content_length}")
    lines.extend(f"{name}: {value}" for name, value in headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _parse(data: bytes, timed_out: bool) -> RawAnswer:
    head, sep, rest = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.split(b"\r\n")
    parts = status_line.split(b" ", 2)
    if not sep or len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        return RawAnswer(None, timed_out=timed_out)
    headers: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawAnswer(int(parts[1]), headers, rest, timed_out)


def _complete(data: bytes) -> bool:
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            return len(rest) >= int(value.strip())
    return False


async def raw_request(
    port: int, request: bytes, *, timeout: float = 2.0, half_close: bool = False
) -> RawAnswer:
    """Send ``request`` to 127.0.0.1:``port`` and read the first answer (or EOF, or time out).

    ``half_close`` shuts the write side after sending, as a client that sent all it ever will.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    data = b""
    timed_out = False
    try:
        writer.write(request)
        await writer.drain()
        if half_close and writer.can_write_eof():
            writer.write_eof()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not _complete(data):
            remaining = deadline - loop.time()
            if remaining <= 0:
                timed_out = True
                break
            try:
                chunk = await asyncio.wait_for(reader.read(65536), remaining)
            except TimeoutError:
                timed_out = True
                break
            except ConnectionError:
                break
            if not chunk:
                break
            data += chunk
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return _parse(data, timed_out)
