"""The PostgreSQL runtime piece: a real server, scram-sha-256, as root and as an ordinary user."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import psycopg
import pytest

from labkit.cleanup import leftover_processes
from labkit.paths import REPO
from labkit.postgres import start_postgres
from labkit.runtime import Run
from labkit.waiting import port_is_listening


def test_when_started_then_passwords_are_checked_and_the_server_stops_with_the_run():
    with Run("test-pg") as run:
        pg = start_postgres(run)
        with pg.connect() as conn:
            assert conn.execute("show password_encryption").fetchone()[0] == "scram-sha-256"
            assert conn.execute("show listen_addresses").fetchone()[0] == "127.0.0.1"
            rules = conn.execute("select type, auth_method from pg_hba_file_rules").fetchall()
            assert {auth for _t, auth in rules} == {"scram-sha-256"}  # never trust
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(host="127.0.0.1", port=pg.port, user="labkit", password="wrong", dbname="postgres",
                            connect_timeout=5)
        held = pg.connect()  # an open client must not keep the server alive at stop
        port = pg.port
        if os.geteuid() == 0:
            assert pg.os_user != "root"
    assert not port_is_listening(port)
    held.close()


AS_USER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from labkit.postgres import start_postgres
    from labkit.runtime import Run
    with Run("pg-user", root=Path(sys.argv[1])) as run:
        pg = start_postgres(run)
        with pg.connect() as conn:
            print(conn.execute("select current_user").fetchone()[0], pg.os_user)
""")


def interpreter_for_nobody() -> list[str] | None:
    """This venv's interpreter if an ordinary user may run it, else the system one with our packages."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for exe in (sys.executable, f"/usr/bin/python{version}"):
        probe = subprocess.run(["runuser", "-u", "nobody", "--", exe, "-c", "import psycopg, labkit"],
                               capture_output=True, env={**os.environ, "PYTHONPATH": PYTHONPATH}, cwd="/")
        if probe.returncode == 0:
            return [exe]
    return None


# .pth files (the editable install) are not read from PYTHONPATH: name the repository too
PYTHONPATH = os.pathsep.join([str(REPO), *(p for p in sys.path if p.endswith("site-packages"))])


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to an ordinary user")
def test_when_not_root_then_the_server_runs_as_the_calling_user():
    python = interpreter_for_nobody()
    if python is None:
        pytest.skip("no Python interpreter an ordinary user can run with labkit importable")
    runs = Path(tempfile.mkdtemp(prefix="labkit-pg-user-"))  # pytest's tmp_path is private to root
    os.chmod(runs, 0o1777)
    proc = subprocess.run(["runuser", "-u", "nobody", "--", *python, "-c", AS_USER, str(runs)],
                          capture_output=True, text=True, timeout=120, cwd="/",
                          env={**os.environ, "PYTHONPATH": PYTHONPATH})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["labkit", "nobody"]
    assert leftover_processes(next(runs.glob("pg-user-*"))) == []
    shutil.rmtree(runs, ignore_errors=True)
