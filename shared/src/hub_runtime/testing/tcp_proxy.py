"""A TCP proxy for tests: point a client at it, then `cut()` its connections without touching the server.

    with TcpProxy("127.0.0.1", 5672) as proxy:
        broker = RabbitMQBroker(f"amqp://guest:guest@127.0.0.1:{proxy.port}/%2F")
        ...
        proxy.cut()      # every open connection is closed; new ones are closed at once
        proxy.restore()  # new connections go through again
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._listener: socket.socket | None = None
        self._accepting: threading.Thread | None = None
        self._refusing = threading.Event()
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()

    def start(self) -> TcpProxy:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)  # so the accept loop notices stop()
        self.port = self._listener.getsockname()[1]
        self._accepting = threading.Thread(target=self._accept_loop, name=f"tcp-proxy-{self.port}",
                                           daemon=True)
        self._accepting.start()
        return self

    def cut(self) -> None:
        """Close every open connection and refuse new ones until `restore()`."""
        self._refusing.set()
        with self._lock:
            sockets, self._open = self._open, set()
        for sock in sockets:
            _close(sock)

    def restore(self) -> None:
        self._refusing.clear()

    def stop(self) -> None:
        self._stopped.set()
        self.cut()
        if self._accepting is not None:
            self._accepting.join(timeout=2)
        if self._listener is not None:
            self._listener.close()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self._refusing.is_set():
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            for sock in (client, upstream):
                sock.settimeout(None)
            with self._lock:
                self._open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._forward, args=(source, sink), daemon=True).start()

    def _forward(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        with self._lock:
            self._open.difference_update((source, sink))
        _close(source)
        _close(sink)


def _close(sock: socket.socket) -> None:
    """Shut down first: that wakes a thread blocked in recv() on the socket; close() alone does not."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
