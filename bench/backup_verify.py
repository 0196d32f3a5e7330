"""`labkit backup verify` on a large dump, against `pg_restore` alone on the same file (the floor:
a restore nobody checked), measured in the same run.

The dump is made here by the real pg_dump (custom format, uncompressed: its size is the data's)
from a table of generated rows; BENCH_DUMP_MB sets its size (default 1024). The verify command
is timed as a user runs it - start-up, its own throwaway PostgreSQL, reading the file, the
restore, the row counts, the clean-up; the floor restores into an already running server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from labkit.postgres import client_tool, start_postgres
from labkit.runtime import Run

MB = int(os.environ.get("BENCH_DUMP_MB", "1024"))
ROW_BYTES = 200  # md5 text x 6 and an id, about


def main() -> None:
    with Run("bench-backup") as run:
        pg = start_postgres(run, name="bench-postgres")
        env = {**os.environ, "PGPASSFILE": str(pg.passfile(run.dir / "pgpass")), "PGHOST": "127.0.0.1",
               "PGPORT": str(pg.port), "PGUSER": pg.superuser}
        rows = MB * 1024 * 1024 // ROW_BYTES
        with pg.connect() as conn:
            conn.execute("CREATE DATABASE big")
        with pg.connect("big") as conn:
            conn.execute("CREATE TABLE events (id bigint, payload text)")
            conn.execute("INSERT INTO events SELECT g, repeat(md5(g::text), 6) FROM generate_series(1, %s) g", (rows,))
        dump = run.dir / "big.dump"
        subprocess.run([client_tool("pg_dump"), "-Fc", "-Z0", "-f", str(dump), "big"], env=env, check=True)
        size = dump.stat().st_size / 1e6
        with pg.connect() as conn:
            conn.execute("CREATE DATABASE floor")
        start = time.perf_counter()
        subprocess.run([client_tool("pg_restore"), "--no-owner", "-d", "floor", str(dump)], env=env, check=True)
        floor = time.perf_counter() - start
        start = time.perf_counter()
        done = subprocess.run([str(Path(sys.executable).parent / "labkit"), "backup", "verify", str(dump),
                               "--expect", f"events={rows}"], capture_output=True, text=True)
        verify = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"verify exited {done.returncode}: {done.stdout}{done.stderr}")
    print(f"{'command':<44} {'wall s':>8} {'vs pg_restore':>14}")
    print(f"{'pg_restore alone (' + f'{size:.0f} MB dump)':<44} {floor:8.2f} {1:13.2f}x")
    print(f"{'labkit backup verify (restore + row counts)':<44} {verify:8.2f} {verify / floor:13.2f}x")
    print(f"{rows:,} rows; verify includes its own PostgreSQL's initdb and start-up, the row counts, the clean-up")


if __name__ == "__main__":
    main()
