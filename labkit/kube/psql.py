"""SQL as a database's superuser, run by psql inside the database's pod (any cluster, no port-forward).

The SQL goes on stdin through the Kubernetes exec API (the real kubectl); the superuser's
password never leaves the pod: psql reads it from the container's own POSTGRES_PASSWORD,
as the official postgres image is configured. Nothing secret is in a process argument.
"""

from __future__ import annotations

from pathlib import Path

from .kubectl import kubectl

# Runs in the pod: the image's superuser over TCP on the pod's own loopback (scram-sha-256).
SCRIPT = ('PGPASSWORD="$POSTGRES_PASSWORD" exec psql -h 127.0.0.1 -U "${POSTGRES_USER:-postgres}" -d "$1" '
          '-X -q -At -v ON_ERROR_STOP=1')


def psql(kubeconfig: str | Path, sql: str, database: str = "postgres", target: str = "deploy/postgres",
         namespace: str = "default", timeout: float = 60.0) -> str:
    """Run sql (statements separated by ;) in one psql session; its output (unaligned, tuples only)."""
    return kubectl(kubeconfig, "exec", "-i", "-n", namespace, target, "--", "sh", "-c", SCRIPT, "sh", database,
                   stdin=sql, timeout=timeout)


def admin(kubeconfig: str | Path, database: str = "postgres", target: str = "deploy/postgres",
          namespace: str = "default"):
    """A callable that runs SQL as the superuser in that pod (what the labs' checks take)."""
    return lambda sql: psql(kubeconfig, sql, database, target, namespace)
