"""A keep-alive HTTP/1.1 upstream that closes idle connections, as real servers do.

`KeepAliveUpstream(idle_timeout=1.0)` serves each connection on its own thread: requests
one after another (Content-Length or chunked bodies), each answered 200 with a JSON body
(`seq`, `path`, `body_len`, `conn`), the connection kept open. A connection that waits
`idle_timeout` seconds for its next request is closed, the way aiohttp (75 s), uvicorn
and Node (5 s) end idle keep-alive connections; each such close is an event a test can
wait on (`wait_idle_closed`). `idle_timeout=None` never closes an idle connection.

What a test can make it do besides:
- `drop_next_on_reused(n)`: the next `n` requests that arrive on a connection which has
  already served one are not read: the connection is closed with them unread (the kernel
  answers RST). That is the race no pre-use check can see: the server's idle timer fires
  just as the request arrives. Dropped requests are counted, never recorded as seen.
- Paths ending in `/partial-head` get part of a response head, then the close;
  `/partial-body` gets a whole head (Content-Length: 100) and 10 bytes of body, then
  the close: an upstream that dies mid-response.
- `stop()`: the listener and every connection close (an upstream really down).

`requests` lists every request read (a `Seen` each), in arrival order. Thread-safe.
"""

from __future__ import annotations

import json
import select
import socket
import threading
from dataclasses import dataclass


@dataclass
class Seen:
    conn: int        # which connection (1, 2, ... in accept order)
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes


class _Closed(Exception):
    """The peer closed (or reset) the connection."""


class KeepAliveUpstream:
    def __init__(self, idle_timeout: float | None = 1.0):
        self.idle_timeout = idle_timeout
        self._cond = threading.Condition()
        self._requests: list[Seen] = []
        self._idle_closed = 0
        self._dropped = 0
        self._connections = 0
        self._drop_reused = 0
        self._socks: set[socket.socket] = set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._accept_loop, name="keepalive-upstream",
                                        daemon=True)
        self._thread.start()

    # -- what a test sees and controls --

    @property
    def requests(self) -> list[Seen]:
        with self._cond:
            return list(self._requests)

    def seen(self, seq: str) -> list[Seen]:
        """The requests read that carried `X-Seq: seq`."""
        return [r for r in self.requests if r.headers.get("x-seq") == seq]

    @property
    def connections(self) -> int:
        with self._cond:
            return self._connections

    @property
    def idle_closed(self) -> int:
        with self._cond:
            return self._idle_closed

    @property
    def dropped(self) -> int:
        with self._cond:
            return self._dropped

    def wait_idle_closed(self, count: int, timeout: float = 10.0) -> None:
        """Until this server has closed `count` idle connections in all."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._idle_closed >= count, timeout):
                raise TimeoutError(f"upstream closed {self._idle_closed} idle connections, "
                                   f"not {count}, within {timeout}s")

    def drop_next_on_reused(self, n: int = 1) -> None:
        with self._cond:
            self._drop_reused = n

    def stop(self) -> None:
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        except OSError:
            pass
        self._thread.join(5)
        self._listener.close()
        with self._cond:
            socks = list(self._socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # -- serving --

    def _accept_loop(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self._cond:
                self._connections += 1
                conn = self._connections
                self._socks.add(sock)
            threading.Thread(target=self._serve, args=(sock, conn), daemon=True).start()

    def _serve(self, sock: socket.socket, conn: int) -> None:
        buf = bytearray()
        served = 0
        try:
            while True:
                if not buf:
                    readable, _, _ = select.select([sock], [], [], self.idle_timeout)
                    if not readable:  # idle for idle_timeout: the keep-alive timeout
                        self._close(sock)
                        with self._cond:
                            self._idle_closed += 1
                            self._cond.notify_all()
                        return
                    if served:
                        with self._cond:
                            drop = self._drop_reused > 0
                            if drop:
                                self._drop_reused -= 1
                                self._dropped += 1
                        if drop:
                            self._close(sock)  # the request unread: RST
                            return
                method, path, headers, body = self._read_request(sock, buf)
                with self._cond:
                    seq = len(self._requests)
                    self._requests.append(Seen(conn, method, path, headers, body))
                if path.endswith("/partial-head"):
                    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: applic")
                    self._close(sock)
                    return
                if path.endswith("/partial-body"):
                    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
                    self._close(sock)
                    return
                answer = json.dumps({"seq": seq, "path": path, "body_len": len(body),
                                     "conn": conn}).encode()
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n" % len(answer) + answer)
                served += 1
        except (_Closed, OSError):
            self._close(sock)

    def _close(self, sock: socket.socket) -> None:
        with self._cond:
            self._socks.discard(sock)
        try:
            sock.close()
        except OSError:
            pass

    @staticmethod
    def _more(sock: socket.socket, buf: bytearray) -> None:
        sock.settimeout(10)
        chunk = sock.recv(65536)
        if not chunk:
            raise _Closed
        buf += chunk

    def _read_request(self, sock: socket.socket, buf: bytearray):
        while b"\r\n\r\n" not in buf:
            self._more(sock, buf)
        end = buf.index(b"\r\n\r\n")
        lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
        del buf[:end + 4]
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = bytearray()
            while True:
                while b"\r\n" not in buf:
                    self._more(sock, buf)
                line_end = buf.index(b"\r\n")
                size = int(bytes(buf[:line_end]).split(b";")[0], 16)
                del buf[:line_end + 2]
                while len(buf) < size + 2:
                    self._more(sock, buf)
                body += buf[:size]
                del buf[:size + 2]
                if size == 0:
                    break
            return method, path, headers, bytes(body)
        length = int(headers.get("content-length", "0"))
        while len(buf) < length:
            self._more(sock, buf)
        body = bytes(buf[:length])
        del buf[:length]
        return method, path, headers, body

