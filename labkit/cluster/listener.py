"""A Service port on the local cluster: a TCP listener on 127.0.0.1 that spreads connections
round-robin over the Ready endpoints, and resets them when there are none (as kube-proxy does)."""

from __future__ import annotations

import contextlib
import itertools
import select
import socket
import struct
import threading

from ..waiting import LOCALHOST


class Listener:
    """One Service port: accepts on 127.0.0.1 and pipes each connection to the next endpoint."""

    def __init__(self, label: str):
        self.label = label
        self.backends: list[int] = []
        self._rr = itertools.count()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((LOCALHOST, 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self._closed = threading.Event()
        threading.Thread(target=self._accept, name=f"svc-{label}", daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            backends = list(self.backends)
            if not backends:  # no endpoints: the connection is reset, as kube-proxy rejects it
                with contextlib.suppress(OSError):
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    client.close()
                continue
            port = backends[next(self._rr) % len(backends)]
            threading.Thread(target=self._serve, args=(client, port), daemon=True).start()

    def _serve(self, client: socket.socket, port: int) -> None:
        try:
            upstream = socket.create_connection((LOCALHOST, port), timeout=5)
        except OSError:
            client.close()
            return
        peer = {client: upstream, upstream: client}
        reading = {client, upstream}
        try:
            while reading and not self._closed.is_set():
                ready, _, _ = select.select(list(reading), [], [], 0.5)
                for s in ready:
                    data = s.recv(65536)
                    if data:
                        peer[s].sendall(data)
                    else:  # one side finished sending: pass the half-close on
                        reading.discard(s)
                        with contextlib.suppress(OSError):
                            peer[s].shutdown(socket.SHUT_WR)
        except OSError:
            pass
        finally:
            client.close()
            upstream.close()

    def close(self) -> None:
        """Stop accepting and close the listening socket."""
        self._closed.set()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked in the other thread
        with contextlib.suppress(OSError):
            self.sock.close()
