"""A real PostgreSQL server for a lab: TCP on 127.0.0.1, scram-sha-256, stopped with the run.

Binaries come from PATH, ``pg_config --bindir`` or Debian's /usr/lib/postgresql/*/bin.
``initdb`` refuses to run as root, so as root the server runs as an unprivileged user
(``postgres`` if it exists, else ``nobody``) in a directory that user owns.  The
superuser password reaches initdb through a file (never a process argument) and the
file is deleted right after.
"""

from __future__ import annotations

import base64
import glob
import hashlib
import hmac
import os
import pwd
import secrets
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ComponentError
from .runtime import Run
from .waiting import LOCALHOST, free_port, tcp_probe, wait_until

INSTALL_HINT = "apt-get install -y --no-install-recommends postgresql (or conda install -c conda-forge postgresql)"


def scram_verifier(password: str, iterations: int = 4096) -> str:
    """PostgreSQL's stored form of a password: SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>."""
    salt = secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    stored = hashlib.sha256(hmac.new(salted, b"Client Key", "sha256").digest()).digest()
    server = hmac.new(salted, b"Server Key", "sha256").digest()

    def enc(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${iterations}:{enc(salt)}${enc(stored)}:{enc(server)}"


def find_bindir() -> Path:
    """The directory holding postgres and initdb."""
    found = shutil.which("postgres")
    if found and shutil.which("initdb"):
        return Path(found).parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10).stdout.strip()
        if out and (Path(out) / "postgres").exists():
            return Path(out)
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]),
                            reverse=True):
        if (Path(candidate) / "postgres").exists() and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    raise ComponentError(f"PostgreSQL server binaries not found: {INSTALL_HINT}")


def client_tool(name: str) -> str:
    """A PostgreSQL client program (pg_dump, pg_restore, psql) of the same version as the server
    where there is a choice: beside the server binaries first, then on PATH."""
    try:
        beside_server = [find_bindir() / name]
    except ComponentError:  # clients without a server: what PATH has
        beside_server = []
    for candidate in [*beside_server, Path(shutil.which(name) or "/nonexistent")]:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    for candidate in sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True):
        return candidate
    raise ComponentError(f"PostgreSQL client {name} not found: {INSTALL_HINT}")


def _server_user() -> pwd.struct_passwd | None:
    """None when we are not root; else the unprivileged account that will own the cluster."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise ComponentError("running as root and no unprivileged user (postgres, nobody) to run PostgreSQL as")


@dataclass
class Postgres:
    """A running server and its superuser (password kept in memory only)."""

    run: Run
    port: int
    superuser: str
    _password: str
    data_dir: Path
    os_user: str

    def connect(self, dbname: str = "postgres", **kwargs: Any):
        """A psycopg connection as the superuser (autocommit)."""
        import psycopg

        return psycopg.connect(host=LOCALHOST, port=self.port, user=self.superuser, password=self._password,
                               dbname=dbname, autocommit=True, connect_timeout=5, **kwargs)

    def passfile(self, path: Path, user: str | None = None, password: str | None = None) -> Path:
        """A 0600 password file (PGPASSFILE) for this server: the superuser's, or user's - so that
        client tools never take a password as an argument or in their environment."""
        path.write_text("")
        path.chmod(0o600)
        entry = ":".join(p.replace("\\", "\\\\").replace(":", "\\:")
                         for p in (LOCALHOST, str(self.port), "*", user or self.superuser, password or self._password))
        path.write_text(entry + "\n")
        return path

    @property
    def log_file(self) -> Path:
        """The server's log file."""
        return self.run.logs / f"{self.data_dir.parent.name}.out"


def grant_traverse(path: Path, gid: int, top: Path) -> None:
    """Let a group reach path: each directory from path up to top (a run directory, 0700) that
    others cannot traverse gets that group and g+x (0710) - nothing above top is touched."""
    for d in [path, *path.parents]:
        if not d.is_relative_to(top):
            return
        st = d.stat()
        if not st.st_mode & 0o001 and st.st_uid == os.geteuid():
            os.chown(d, -1, gid)
            d.chmod((st.st_mode & 0o7777) | 0o010)


def _as(user: pwd.struct_passwd | None):
    if user is None:
        return None

    def drop() -> None:
        os.setgid(user.pw_gid)
        os.setgroups([])
        os.setuid(user.pw_uid)

    return drop


def start_postgres(run: Run, log_statement: str = "none", timeout: float = 60.0, name: str = "postgres") -> Postgres:
    """initdb + postgres on a free port, scram-sha-256 for every connection (never trust); name tells
    several servers of one run apart (their directory and log)."""
    bindir = find_bindir()
    user = _server_user()
    base = run.dir / name
    data = base / "data"
    base.mkdir(mode=0o700)
    password = secrets.token_urlsafe(24)
    pwfile = base / "pwfile"
    pwfile.write_text(password + "\n")
    pwfile.chmod(0o600)
    if user is not None:
        for path in (base, pwfile):
            os.chown(path, user.pw_uid, user.pw_gid)
        # The server's own account must reach its directory: let its group traverse the run
        # directory (0710), nobody else.
        grant_traverse(run.dir, user.pw_gid, run.dir)
    env = {"LC_ALL": "C", "LANG": "C"}
    code, out = run.run_command("initdb" if name == "postgres" else f"initdb-{name}", [str(bindir / "initdb"), "-D", str(data), "-U", "labkit",
                                           "--pwfile", str(pwfile), "--auth=scram-sha-256", "-E", "UTF8",
                                           "--no-instructions"], env=env, timeout=120,
                                 preexec=_as(user))
    pwfile.unlink(missing_ok=True)
    if code != 0:
        raise ComponentError("initdb failed: " + " | ".join(out.strip().splitlines()[-3:]))
    (data / "pg_hba.conf").write_text(
        "# labkit: password authentication over TCP on 127.0.0.1 only - never trust\n"
        "local all all scram-sha-256\n"
        "host  all all 127.0.0.1/32 scram-sha-256\n")
    port = free_port()
    # TCP only (as the pod image): a socket path under a deep run directory can pass the 107-byte limit
    settings = {"listen_addresses": LOCALHOST, "port": str(port), "unix_socket_directories": "",
                "password_encryption": "scram-sha-256", "log_statement": log_statement,
                "log_connections": "on", "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
                "max_connections": "100", "shared_buffers": "32MB"}
    argv = [str(bindir / "postgres"), "-D", str(data)] + [f"-c{k}={v}" for k, v in settings.items()]
    run.start_process(name, argv, env=env, preexec=_as(user), ready=tcp_probe(port), timeout=timeout,
                      ports={name: port}, stop_signal=signal.SIGINT)  # SIGINT = fast shutdown
    pg = Postgres(run, port, "labkit", password, data, user.pw_name if user else pwd.getpwuid(os.geteuid()).pw_name)

    def accepts() -> bool:
        try:
            pg.connect().close()
            return True
        except Exception:
            return False

    wait_until(accepts, timeout=timeout, what="PostgreSQL")
    return pg
