"""The official `postgres` image's interface, run on this machine's PostgreSQL server.

The local cluster runs this for a container whose image is ``postgres`` (any tag), so one
manifest serves both clusters. As the image documents: ``POSTGRES_PASSWORD`` (or
``POSTGRES_PASSWORD_FILE``) is required; ``POSTGRES_USER`` (default postgres) is the
superuser; ``POSTGRES_DB`` (default: that user) is created; ``PGDATA`` (default
/var/lib/postgresql/data) holds the data. On the first start: initdb, then every ``*.sql``
and ``*.sh`` in /docker-entrypoint-initdb.d in name order, against a server on a port of its
own; then the real server. Connections authenticate with scram-sha-256, also
from inside the pod (``POSTGRES_HOST_AUTH_METHOD=trust`` is refused). SIGTERM stops it with a
fast shutdown, as the image's STOPSIGNAL does. Container args are server options, as
with the image (``args: ["-c", "log_statement=all"]``).

Local differences: absolute paths are under the container's root directory (its working
directory, where the kubelet writes its volume mounts); the server listens on 127.0.0.1 at
the pod's port for 5432, which the kubelet also gives the pod as PGPORT so psql and
pg_isready find it. As root, the server runs as an unprivileged account (initdb refuses root).
"""

from __future__ import annotations

import ctypes
import grp
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .postgres import _as, _server_user, find_bindir, grant_traverse
from .waiting import free_port

DEFAULT_PGDATA = "/var/lib/postgresql/data"
INITDB_D = "/docker-entrypoint-initdb.d"


class ImageError(Exception):
    """The container cannot start: printed as one line, exit code 1."""


def _under(root: Path, path: str) -> Path:
    return root / path.lstrip("/")


def _password(env: dict[str, str], root: Path) -> str:
    if env.get("POSTGRES_HOST_AUTH_METHOD") == "trust":
        raise ImageError("POSTGRES_HOST_AUTH_METHOD=trust is refused here: every connection uses a password")
    if env.get("POSTGRES_PASSWORD"):
        return env["POSTGRES_PASSWORD"]
    if env.get("POSTGRES_PASSWORD_FILE"):
        try:
            return _under(root, env["POSTGRES_PASSWORD_FILE"]).read_text().rstrip("\n")
        except OSError as err:
            raise ImageError(f"cannot read POSTGRES_PASSWORD_FILE: {err.strerror}") from None
    raise ImageError("Database is uninitialized and superuser password is not specified. "
                     "You must specify POSTGRES_PASSWORD to a non-empty value for the superuser.")


def _child_setup(user):
    drop = _as(user)

    def setup() -> None:
        if drop is not None:
            drop()
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with us

    return setup


def _tool(bindir: Path, name: str) -> str:
    """A PostgreSQL client program: next to the server, else on PATH (Debian splits them)."""
    found = bindir / name if (bindir / name).exists() else shutil.which(name)
    if not found:
        raise ImageError(f"{name} not found next to the server ({bindir}) or on PATH")
    return str(found)


def _reachable(path: Path, user) -> bool:
    """Whether user can pass through every directory down to path."""
    groups = {user.pw_gid, *(g.gr_gid for g in grp.getgrall() if user.pw_name in g.gr_mem)}
    for d in [path, *path.parents]:
        st = d.stat()
        bit = 0o100 if st.st_uid == user.pw_uid else 0o010 if st.st_gid in groups else 0o001
        if not st.st_mode & bit:
            return False
    return True


SCRATCH_PREFIX = "labkit-pgdata-"


class Image:
    """A PostgreSQL server run as a pod's image would run it: initdb once, then postgres in the foreground."""
    def __init__(self, env: dict[str, str], root: Path, args: list[str]):
        self.env, self.root = env, root
        if args and args[0] == "postgres":  # `args: [postgres, -c, ...]` as with the image
            args = args[1:]
        if any(not a.startswith("-") and (i == 0 or args[i - 1] not in ("-c",)) for i, a in enumerate(args)):
            raise ImageError(f"unsupported arguments {args}: the server takes options such as -c name=value")
        self.args = args
        self.password = _password(env, root)
        self.user = env.get("POSTGRES_USER") or "postgres"
        self.db = env.get("POSTGRES_DB") or self.user
        self.data = _under(root, env.get("PGDATA") or DEFAULT_PGDATA)
        self.port = int(env.get("PGPORT") or env.get("PORT_5432") or 5432)
        self.os_user = _server_user()
        self.bindir = find_bindir()
        # the kubelet's layout: <run dir>/pods/<namespace>.<pod>/<container> - grant nothing above the run
        self.top = root.parents[2] if len(root.parents) > 2 else root
        if self.os_user is not None and not _reachable(self.top.parent, self.os_user):
            self.data = self._scratch_data()
        self.server: subprocess.Popen | None = None
        self.listening = 0
        self.terminating = False

    def _scratch_data(self) -> Path:
        """The data directory when the server's account cannot reach the pod's directory (a run
        under a private home): a private directory in the system's temp dir, linked from PGDATA.
        It lives as long as the pod - the kubelet removes what a pod's links point at."""
        if self.data.is_symlink():
            return self.data.resolve()  # a container restart: the same data
        scratch = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX))
        os.chown(scratch, self.os_user.pw_uid, self.os_user.pw_gid)
        if self.data.is_dir():
            self.data.rmdir()  # the (empty) emptyDir mount point
        self.data.parent.mkdir(parents=True, exist_ok=True)
        self.data.symlink_to(scratch / "data")
        return scratch / "data"

    def terminate(self, *_: object) -> None:
        """Stop the server (SIGTERM handler): fast shutdown, then the process exits."""
        self.terminating = True
        if self.server is not None and self.server.poll() is None:
            self.server.send_signal(signal.SIGINT)

    def _own(self, path: Path) -> None:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.os_user is not None:
            os.chown(path, self.os_user.pw_uid, self.os_user.pw_gid)
            grant_traverse(path.parent, self.os_user.pw_gid, self.top)

    def initdb(self) -> None:
        """Create the data directory (initdb) with the superuser from the environment."""
        self._own(self.data)
        pwfile = self.data.parent / ".pwfile"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.password + "\n")
        if self.os_user is not None:
            os.chown(pwfile, self.os_user.pw_uid, self.os_user.pw_gid)
        try:
            done = subprocess.run([str(self.bindir / "initdb"), "-D", str(self.data), "-U", self.user,
                                   "--pwfile", str(pwfile), "--auth=scram-sha-256", "-E", "UTF8",
                                   "--no-instructions"], env={**self.env, "LC_ALL": "C", "LANG": "C"},
                                  cwd=str(self.data), preexec_fn=_as(self.os_user), capture_output=True, text=True, timeout=300)
        finally:
            pwfile.unlink(missing_ok=True)
        sys.stdout.write(done.stdout)
        if done.returncode != 0:
            raise ImageError("initdb failed: " + " | ".join(done.stderr.strip().splitlines()[-3:]))
        (self.data / "pg_hba.conf").write_text(
            "# every connection authenticates with a password (scram-sha-256), also from inside the pod\n"
            "local all all scram-sha-256\n"
            "host  all all 127.0.0.1/32 scram-sha-256\n"
            "host  all all ::1/128 scram-sha-256\n")

    def start(self, port: int) -> None:
        """The server on 127.0.0.1 only (no Unix socket: a pod's paths are too long for one)."""
        self.listening = port
        settings = {"listen_addresses": "127.0.0.1", "port": str(port), "unix_socket_directories": "",
                    "password_encryption": "scram-sha-256", "log_connections": "on"}
        argv = [str(self.bindir / "postgres"), "-D", str(self.data)] + [f"-c{k}={v}" for k, v in settings.items()] + self.args
        self.server = subprocess.Popen(argv, env={**self.env, "LC_ALL": "C", "LANG": "C"}, cwd=str(self.data),
                                       preexec_fn=_child_setup(self.os_user))

    def stop(self) -> int:
        """Stop the server; its exit code."""
        if self.server is None:
            return 0
        if self.server.poll() is None:
            self.server.send_signal(signal.SIGINT)  # fast shutdown
        code = self.server.wait()
        self.server = None
        return code

    def client_env(self) -> dict[str, str]:
        """The environment psql needs to reach the server as its superuser."""
        return {**self.env, "PGHOST": "127.0.0.1", "PGPORT": str(self.listening), "PGUSER": self.user,
                "PGPASSWORD": self.password, "PGDATABASE": self.db}

    def psql(self, *args: str, stdin: str | None = None) -> None:
        """Run psql against the server; ComponentError on failure."""
        done = subprocess.run([_tool(self.bindir, "psql"), "-v", "ON_ERROR_STOP=1", "-X", "-q", *args],
                              env=self.client_env(), input=stdin, text=True, capture_output=True, timeout=300)
        sys.stdout.write(done.stdout)
        if done.returncode != 0:
            raise ImageError("init failed: " + " | ".join(done.stderr.strip().splitlines()[-3:]))

    def wait_ready(self) -> None:
        """Wait until the server accepts connections, or fail when it exits."""
        for _ in range(600):
            if self.server is None or self.server.poll() is not None:
                raise ImageError("the server exited during start")
            ok = subprocess.run([_tool(self.bindir, "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.listening)],
                                capture_output=True, timeout=10).returncode == 0
            if ok:
                return
            time.sleep(0.1)
        raise ImageError("the server did not accept connections within 60 s")

    def first_start(self) -> None:
        """initdb, the database, the init scripts - on a port of its own, which no Service points at."""
        self.initdb()
        self.start(free_port())
        self.wait_ready()
        if self.db != "postgres":
            self.psql("-d", "postgres", "-v", f"db={self.db}", stdin='CREATE DATABASE :"db";\n')
        scripts = _under(self.root, INITDB_D)
        for script in sorted(scripts.iterdir()) if scripts.is_dir() else []:
            print(f"running {INITDB_D}/{script.name}", flush=True)
            if script.suffix == ".sql":
                self.psql("-f", str(script))
            elif script.suffix == ".sh":
                done = subprocess.run(["sh", str(script)], env=self.client_env(), timeout=300)
                if done.returncode != 0:
                    raise ImageError(f"{INITDB_D}/{script.name} exited with {done.returncode}")
        self.stop()
        print("PostgreSQL init process complete; ready for start up.", flush=True)


def main() -> int:
    """The image's entry point: initialise, serve, stop on SIGTERM; the server's exit code."""
    image = None
    try:
        image = Image(dict(os.environ), Path.cwd(), sys.argv[1:])
        signal.signal(signal.SIGTERM, image.terminate)
        if not (image.data / "PG_VERSION").exists():
            try:
                image.first_start()
            except (ImageError, OSError, subprocess.SubprocessError):
                image.stop()
                # unlike the image, a failed first start leaves no half-made data behind: a
                # restart tries again instead of serving a database without its init scripts
                shutil.rmtree(image.data, ignore_errors=True)
                if image.data.parent.name.startswith(SCRATCH_PREFIX):
                    shutil.rmtree(image.data.parent, ignore_errors=True)
                raise
        if image.terminating:
            return 0
        image.start(image.port)
        return image.server.wait() if image.server else 1
    except (ImageError, OSError, subprocess.SubprocessError) as err:
        print(f"error: {err}", file=sys.stderr, flush=True)
        if image is not None:
            image.stop()
        return 1


if __name__ == "__main__":
    sys.exit(main())
