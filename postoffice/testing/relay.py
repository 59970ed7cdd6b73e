"""A TCP relay on loopback that counts the octets a server sends to its client: the
media tests and benchmarks measure what a browser was sent through it (every byte from
the server to the browser passes through it)."""

from __future__ import annotations

import socket
import threading
import time

__all__ = ["CountingRelay"]


class CountingRelay:
    """127.0.0.1:port -> the webmail; counts the octets the server sends back."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.sent = 0
        self.open = 0
        self.last_sent = time.monotonic()  # when the server last sent an octet
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream))
            with self._lock:
                self.open += 1
            done = threading.Event()
            threading.Thread(target=self._pump, args=(client, server, False, done), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True, done), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, count: bool, done: threading.Event) -> None:
        try:
            while data := src.recv(65536):
                if count:
                    with self._lock:
                        self.sent += len(data)
                        self.last_sent = time.monotonic()
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            if done.is_set():
                with self._lock:
                    self.open -= 1
                src.close()
                dst.close()
            done.set()

    def close(self) -> None:
        self._listener.close()
