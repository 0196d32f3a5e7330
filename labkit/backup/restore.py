"""Restore a dump into a throwaway real PostgreSQL and count what came back.

One scratch server per run (started on first use, removed with the run); each restore gets a
database of its own, dropped once its tables are counted. Custom-format archives go through
`pg_restore --no-owner --no-privileges`; plain SQL through `psql` (where a missing role of
the source - an `ALTER ... OWNER TO` - is not the data, and is not counted as a failure).
"""

from __future__ import annotations

import itertools
import os
import re
import time
from pathlib import Path

from ..postgres import Postgres, client_tool, start_postgres
from ..runtime import Run
from ..waiting import LOCALHOST
from .check import Restored

NOT_THE_DATA = re.compile(r'role "[^"]+" does not exist')
COUNT_TABLES = ("SELECT schemaname, tablename FROM pg_tables "
                "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2")


class Scratch:
    """A throwaway PostgreSQL for restores, stopped and removed with its run."""

    def __init__(self, run: Run, timeout: float = 600.0):
        self.run = run
        self.timeout = timeout
        self._pg: Postgres | None = None
        self._n = itertools.count(1)

    @property
    def pg(self) -> Postgres:
        """The server, started on first use."""
        if self._pg is None:
            self._pg = start_postgres(self.run, name="scratch-postgres")
        return self._pg

    def restore(self, dump: Path, fmt: str) -> Restored:
        """Restore dump (format "custom" or "plain") into a fresh database; its tables' rows and errors."""
        pg = self.pg
        db = f"restore_{next(self._n)}"
        with pg.connect() as conn:
            conn.execute(f'CREATE DATABASE "{db}"')
        try:
            start = time.monotonic()
            errors = self._load(dump, fmt, db)
            tables = count_rows(pg, db)
            return Restored(tables, errors, time.monotonic() - start)
        finally:
            with pg.connect() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')

    def _load(self, dump: Path, fmt: str, db: str) -> list[str]:
        pg = self.pg
        env = {**os.environ, "PGPASSFILE": str(pg.passfile(self.run.dir / "scratch.pgpass")), "PGCONNECT_TIMEOUT": "10"}
        conn = ["-h", LOCALHOST, "-p", str(pg.port), "-U", pg.superuser, "-d", db]
        if fmt == "custom":
            argv = [client_tool("pg_restore"), "--no-owner", "--no-privileges", *conn, str(dump)]
        else:
            argv = [client_tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=0", *conn, "-f", str(dump)]
        # a tracked process: stopped with the run, whatever happens to the caller
        code, output = self.run.run_command(f"restore-{db}", argv, env=env, timeout=self.timeout)
        return restore_errors(output, fmt, code)


def restore_errors(stderr: str, fmt: str, returncode: int) -> list[str]:
    """The restore's error lines that are about the data (not a missing role of the source)."""
    if fmt == "custom":
        lines = [line.split("error: ", 1)[1] for line in stderr.splitlines() if "error: " in line]
        lines = [line for line in lines if not NOT_THE_DATA.search(line)]
        if returncode != 0 and not lines:
            lines = [stderr.strip().splitlines()[-1] if stderr.strip() else f"pg_restore exited {returncode}"]
        return [f"pg_restore: {line}" for line in lines]
    found = [line.split("ERROR:", 1)[1].strip() for line in stderr.splitlines() if "ERROR:" in line]
    return [f"psql: {line}" for line in found if not NOT_THE_DATA.search(line)]


def count_rows(pg: Postgres, db: str) -> dict[str, int]:
    """Rows per table (schema.table) in a database, counted."""
    from psycopg import sql

    out: dict[str, int] = {}
    with pg.connect(db) as conn:
        for schema, table in conn.execute(COUNT_TABLES).fetchall():
            query = sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
            out[f"{schema}.{table}"] = conn.execute(query).fetchone()[0]
    return out
