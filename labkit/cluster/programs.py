"""Which local program a container image runs on the local cluster (an explicit table).

On a real cluster the same image names are built from the Dockerfile next to each
program. A container that gives ``command`` / ``args`` runs exactly that, whatever
the image.
"""

from __future__ import annotations

import sys

from ..paths import LABS

IMAGES: dict[str, list[str]] = {
    "labkit/tiny-http": [sys.executable, "-m", "labkit.cluster.tinyhttp"],
    "labkit/secrets-app": [sys.executable, str(LABS / "04-secrets-rotation" / "app" / "app.py")],
    "labkit/canary-app": [sys.executable, str(LABS / "05-canary-rollback" / "app" / "app.py")],
    # The official image's documented interface (POSTGRES_PASSWORD, POSTGRES_USER, POSTGRES_DB,
    # PGDATA, /docker-entrypoint-initdb.d), run on this machine's PostgreSQL: labkit/pgimage.py
    "postgres": [sys.executable, "-m", "labkit.pgimage"],
    "docker.io/library/postgres": [sys.executable, "-m", "labkit.pgimage"],
}


def image_env(image: str, host_ports: dict[int, int]) -> dict[str, str]:
    """Variables an image's local program needs that its real image does not (the remapped port).

    PostgreSQL's clients (psql, pg_isready) read PGPORT: inside the real image the server is
    on 5432; here it is on the pod's port for 5432, so `kubectl exec ... psql` works on both."""
    if IMAGES.get(image_name(image), [None])[-1] == "labkit.pgimage" and 5432 in host_ports:
        return {"PGPORT": str(host_ports[5432])}
    return {}


def image_name(image: str) -> str:
    """The image without its tag or digest (a registry port is kept)."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return name[: len(name) - len(last)] + last.split(":", 1)[0]


def register(image: str, argv: list[str]) -> None:
    """Map another image to a local program (e.g. in a workshop's own notebook)."""
    IMAGES[image_name(image)] = list(argv)


def argv_for(container: dict) -> list[str]:
    """The command a container runs: its command/args, else the image's program."""
    command, args = container.get("command"), container.get("args") or []
    if command:
        return [*command, *args]
    base = IMAGES.get(image_name(container.get("image", "")))
    if base is None:
        raise LookupError(f"no local program for image {container.get('image')!r} "
                          f"(known: {', '.join(sorted(IMAGES))}); give command/args or register it")
    return [*base, *args]
