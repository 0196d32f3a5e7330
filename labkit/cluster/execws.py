"""`kubectl exec` over WebSocket: the v5.channel.k8s.io (and v4) remote command protocol.

After the HTTP upgrade every binary message starts with a channel byte: 0 stdin,
1 stdout, 2 stderr, 3 the final Status (the exit code), 4 terminal resize; with v5 a
message [255, 0] closes stdin.  The command runs as a process of the pod: the
container's environment as resolved at its start, its working directory, and it is
killed when the exec's connection ends or its pod stops.
"""

from __future__ import annotations

import base64
import ctypes
import hashlib
import json
import os
import signal
import struct
import subprocess
import threading
import time
from typing import Any

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CLOSE_STREAM = 255


def negotiate(headers: Any) -> str | None:
    """The subprotocol to answer with, or None when the client offers none we speak."""
    if (headers.get("Upgrade") or "").lower() != "websocket" or not headers.get("Sec-WebSocket-Key"):
        return None
    offered = [p.strip() for p in (headers.get("Sec-WebSocket-Protocol") or "").split(",")]
    return next((p for p in PROTOCOLS if p in offered), None)


class Socket:
    """Server side of RFC 6455 framing on a request handler's streams; writes are serialised."""

    def __init__(self, handler: Any):
        self.rfile, self.wfile = handler.rfile, handler.wfile
        self._lock = threading.Lock()
        self.closed = False

    def send(self, opcode: int, payload: bytes) -> bool:
        """Send one frame; False when the client has gone."""
        n = len(payload)
        head = bytes([0x80 | opcode]) + (bytes([n]) if n < 126 else struct.pack("!BH", 126, n) if n < 65536
                                          else struct.pack("!BQ", 127, n))
        with self._lock:
            if self.closed:
                return False
            try:
                self.wfile.write(head + payload)
                self.wfile.flush()
            except OSError:
                self.closed = True
            return not self.closed

    def channel(self, number: int, data: bytes) -> bool:
        """Send data on one of the exec streams (1 stdout, 2 stderr, 3 status)."""
        return self.send(0x2, bytes([number]) + data)

    def receive(self) -> tuple[int, bytes] | None:
        """The next whole message (opcode, payload); None at EOF or on a broken frame."""
        opcode, data = None, b""
        while True:
            head = self.rfile.read(2)
            if len(head) < 2:
                return None
            fin, op, masked, n = head[0] & 0x80, head[0] & 0x0F, head[1] & 0x80, head[1] & 0x7F
            if n == 126:
                n = struct.unpack("!H", self.rfile.read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self.rfile.read(8))[0]
            mask = self.rfile.read(4) if masked else b""
            payload = self.rfile.read(n)
            if len(payload) < n:
                return None
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if op >= 0x8:  # control frames come whole, even between fragments
                if op == 0x9:
                    self.send(0xA, payload)
                    continue
                if op == 0xA:
                    continue
                return op, payload
            opcode = op if opcode is None else opcode
            data += payload
            if fin:
                return opcode, data


def accept(handler: Any, protocol: str) -> Socket:
    """Answer the WebSocket upgrade of an exec or attach request with this subprotocol."""
    key = handler.headers["Sec-WebSocket-Key"].strip()
    digest = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
    handler.send_response(101, "Switching Protocols")
    handler.send_header("Upgrade", "websocket")
    handler.send_header("Connection", "Upgrade")
    handler.send_header("Sec-WebSocket-Accept", digest)
    handler.send_header("Sec-WebSocket-Protocol", protocol)
    handler.end_headers()
    handler.close_connection = True
    return Socket(handler)


START_FAILURE_DELAY_S = 0.25


def _die_with_thread() -> None:
    """In the child: SIGKILL when the thread that started it (the exec's handler) ends."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def run(sock: Socket, argv: list[str], env: dict[str, str], cwd: str | None, stdin: bool,
        register: Any = None) -> None:
    """Run argv with the streams over sock; end with the Status on channel 3 and a close frame."""
    try:
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                                preexec_fn=_die_with_thread)
    except OSError as err:
        what = (f'exec: "{argv[0]}": executable file not found in $PATH' if isinstance(err, FileNotFoundError)
                else f"exec: {err.strerror}")
        # A container runtime takes a moment to report a failed start; answering within
        # microseconds raced kubectl 1.31, whose WebSocket client starts reading before it has
        # made its streams and discards a frame for a stream it does not know yet (seen in CI).
        time.sleep(START_FAILURE_DELAY_S)
        _finish(sock, {"status": "Failure", "reason": "InternalError", "code": 500,
                       "message": f"error executing command in container: {what}"})
        return
    if register:
        register(proc)
    pumps = [threading.Thread(target=_pump, args=(proc.stdout, sock, 1), daemon=True),
             threading.Thread(target=_pump, args=(proc.stderr, sock, 2), daemon=True)]
    reader = threading.Thread(target=_read_client, args=(sock, proc), daemon=True)
    for t in (*pumps, reader):
        t.start()
    try:
        for t in pumps:
            t.join()
        code = proc.wait()
    finally:
        if proc.poll() is None:
            _kill(proc)
            proc.wait()
    if code == 0:
        _finish(sock, {"status": "Success"})
    else:
        _finish(sock, {"status": "Failure", "reason": "NonZeroExitCode",
                       "message": f"command terminated with non-zero exit code: error executing command "
                                  f"{argv}, exit code {code if code > 0 else 128 - code}",
                       "details": {"causes": [{"reason": "ExitCode",
                                               "message": str(code if code > 0 else 128 - code)}]}})
    reader.join(timeout=2)


def _finish(sock: Socket, status: dict[str, Any]) -> None:
    sock.channel(3, json.dumps({"metadata": {}, **status}).encode())
    sock.send(0x8, struct.pack("!H", 1000))


def _pump(pipe: Any, sock: Socket, number: int) -> None:
    try:
        while chunk := os.read(pipe.fileno(), 32768):
            if not sock.channel(number, chunk):
                break
    except OSError:
        pass
    finally:
        pipe.close()


def _read_client(sock: Socket, proc: subprocess.Popen) -> None:
    """stdin frames into the process; a close (or the client gone) ends the process."""
    try:
        while (msg := sock.receive()) is not None:
            opcode, data = msg
            if opcode == 0x8:
                break
            if not data:
                continue
            if data[0] == 0 and proc.stdin is not None:
                try:
                    proc.stdin.write(data[1:])
                    proc.stdin.flush()
                except OSError:
                    pass
            elif data[0] == CLOSE_STREAM and data[1:2] == b"\x00" and proc.stdin is not None:
                proc.stdin.close()
    except (OSError, ValueError, struct.error):
        pass
    finally:
        if proc.stdin is not None and not proc.stdin.closed:
            try:
                proc.stdin.close()
            except OSError:
                pass
        if proc.poll() is None:
            _kill(proc)  # the client closed or went away while the command still ran


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
