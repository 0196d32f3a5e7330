"""Passwords: generated with `secrets`, shown only as fingerprints, set in PostgreSQL as SCRAM verifiers.

``ALTER ROLE`` receives a SCRAM-SHA-256 verifier computed here (RFC 5802 / RFC 7677, as
PostgreSQL stores it), so the password never appears in SQL text a server could log
(``log_statement=all``) - nor does it need a connection: the SQL goes to psql in the
database's pod through the Kubernetes exec API.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets as _secrets
from collections.abc import Callable, Iterable

from ..errors import LabkitError
from ..postgres import scram_verifier

PREFIX_LEN = 28
# Quotes and $ on purpose: the verifier path must not care what the password contains.
SUFFIX_CHARS = "$'\"!%"
_RUN = re.compile(rb"[A-Za-z0-9_-]{%d,}" % PREFIX_LEN)
_B64 = re.compile(rb"[A-Za-z0-9+/]{40,}={0,2}")


def new_password() -> str:
    """28 URL-safe characters from `secrets`, then a few quote and dollar characters."""
    prefix = _secrets.token_urlsafe(21)[:PREFIX_LEN]
    return prefix + "".join(_secrets.choice(SUFFIX_CHARS) for _ in range(4))


def fingerprint(password: str) -> str:
    """What may be shown instead of a password."""
    return "sha256:" + hashlib.sha256(password.encode()).hexdigest()[:12]


ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def set_password(admin: Callable[[str], str], user: str, password: str) -> None:
    """ALTER ROLE with a SCRAM verifier computed here (the password itself never reaches the server).

    admin runs SQL as the database superuser (see lab.pod_admin)."""
    if not ROLE.match(user):
        raise LabkitError(f"{user!r} is not a plain role name")
    verifier = scram_verifier(password)
    admin(f"ALTER ROLE \"{user}\" WITH PASSWORD '{verifier}';\n")


def b64(text: str) -> str:
    """Base64 of a text, as a Secret's data holds it."""
    return base64.b64encode(text.encode()).decode()


def audit_digest(password: str) -> str:
    """A digest of the password's random part, for leak scans (never the password itself)."""
    return hashlib.sha256(password[:PREFIX_LEN].encode()).hexdigest()


def _windows(blob: bytes) -> Iterable[tuple[int, bytes]]:
    """(offset, window) for every PREFIX_LEN-long window of every URL-safe run in blob."""
    for m in _RUN.finditer(blob):
        token = m.group(0)
        for i in range(len(token) - PREFIX_LEN + 1):
            yield m.start() + i, token[i : i + PREFIX_LEN]


def find_leaks(data: bytes, digests: Iterable[str]) -> list[str]:
    """Where a password appears in data - plain, JSON-escaped or base64 - by byte offset (never the text)."""
    wanted = set(digests)
    found = [f"plain at byte {off}" for off, w in _windows(data) if hashlib.sha256(w).hexdigest() in wanted]
    for m in _B64.finditer(data):
        token = m.group(0)
        for start in range(4):  # the password may begin anywhere inside the encoded text
            chunk = token[start:]
            chunk = chunk[: len(chunk) - len(chunk) % 4]
            try:
                decoded = base64.b64decode(chunk, validate=False)
            except ValueError:
                continue
            if any(hashlib.sha256(w).hexdigest() in wanted for _off, w in _windows(decoded)):
                found.append(f"base64 at byte {m.start()}")
    return found


def secret_json(username: str, password: str, **extra: object) -> str:
    """The Secrets Manager value: JSON with username and password (and connection fields)."""
    return json.dumps({**extra, "username": username, "password": password})
