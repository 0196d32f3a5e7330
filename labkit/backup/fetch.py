"""Lab 06's reads: find the backup (a file, an S3 object, the newest object under an S3 prefix),
bring it here, read it to the end, and say what it is."""

from __future__ import annotations

import datetime as dt
import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.exceptions

from ..aws import explain_aws_error
from ..errors import InputError
from .check import parse_manifest

MANIFEST_SUFFIX = ".manifest"  # the job's table counts, uploaded beside the dump
COMPLETE = b"-- PostgreSQL database dump complete"


@dataclass
class Located:
    """A backup found and copied here: where it came from, when it was written, the job's manifest."""

    source: str
    path: Path
    modified: dt.datetime
    size: int
    manifest: dict[str, int] | None


@dataclass
class Decoded:
    """What the bytes are: a custom-format or plain SQL dump (decompressed), or why they are unreadable."""

    path: Path | None
    format: str | None  # "custom" or "plain"
    compressed: bool
    problem: str | None = None


def split_s3(source: str) -> tuple[str, str]:
    """s3://bucket/key-or-prefix into (bucket, key)."""
    bucket, _, key = source[len("s3://"):].partition("/")
    if not bucket:
        raise InputError(f"not an S3 location: {source!r} (use s3://bucket/key or s3://bucket/prefix/)")
    return bucket, key


def newest_object(s3: Any, bucket: str, prefix: str) -> dict[str, Any]:
    """The listing entry (Key, LastModified, Size) of the most recently written object under
    prefix, manifests aside."""
    best: dict[str, Any] | None = None
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            if not obj["Key"].endswith(MANIFEST_SUFFIX) and (
                    best is None or (obj["LastModified"], obj["Key"]) > (best["LastModified"], best["Key"])):
                best = obj
    if best is None:
        raise InputError(f"no backup under s3://{bucket}/{prefix}")
    return best


def locate(source: str, workdir: Path, s3: Any = None) -> Located:
    """Find the backup and copy it into workdir (a local file is read where it is)."""
    if source.startswith("s3://"):
        return _locate_s3(source, workdir, s3)
    path = Path(source)
    if not path.is_file():
        raise InputError(f"no such file: {source}")
    side = path.with_name(path.name + MANIFEST_SUFFIX)
    manifest = parse_manifest(side.read_text(errors="replace")) if side.is_file() else None
    stat = path.stat()
    return Located(str(path), path, dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC), stat.st_size, manifest)


def _locate_s3(source: str, workdir: Path, s3: Any) -> Located:
    bucket, key = split_s3(source)
    try:
        if not key or key.endswith("/"):
            key = newest_object(s3, bucket, key)["Key"]
        head = s3.head_object(Bucket=bucket, Key=key)
        local = workdir / "backup.download"
        s3.download_file(bucket, key, str(local))
        try:
            body = s3.get_object(Bucket=bucket, Key=key + MANIFEST_SUFFIX)["Body"].read()
            manifest = parse_manifest(body.decode(errors="replace"))
        except botocore.exceptions.ClientError as err:
            if err.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
                raise
            manifest = None
    except botocore.exceptions.ClientError as err:
        code = err.response.get("Error", {}).get("Code")
        if code in ("404", "NoSuchKey"):
            raise InputError(f"no such object: s3://{bucket}/{key}") from None
        if code == "NoSuchBucket":
            raise InputError(f"no such bucket: {bucket}") from None
        raise explain_aws_error(err, f"reading s3://{bucket}/{key}") from None
    except botocore.exceptions.BotoCoreError as err:
        raise explain_aws_error(err, f"reading s3://{bucket}/{key}") from None
    return Located(f"s3://{bucket}/{key}", local, head["LastModified"], head["ContentLength"], manifest)


def decode(path: Path, workdir: Path) -> Decoded:
    """Read the backup to the end: gunzip it if it is gzip (a truncated or corrupt stream is
    unreadable), then tell a custom-format archive from a plain SQL dump."""
    with open(path, "rb") as f:
        compressed = f.read(2) == b"\x1f\x8b"
    plain = path
    if compressed:
        plain = workdir / "backup.dump"
        written = 0
        try:
            with gzip.open(path, "rb") as src, open(plain, "wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
                    written += len(chunk)
        except EOFError:
            return Decoded(None, None, True, f"truncated: the gzip stream ends before its end marker "
                                             f"({written} bytes decompressed)")
        except (gzip.BadGzipFile, zlib.error) as err:
            return Decoded(None, None, True, f"corrupt gzip after {written} bytes: {err}")
    size = plain.stat().st_size
    after = " after gunzip" if compressed else ""
    if size == 0:
        return Decoded(None, None, compressed, f"empty: 0 bytes{after} - whatever wrote it wrote nothing")
    with open(plain, "rb") as f:
        head = f.read(65536)
        f.seek(max(0, size - 4096))
        tail = f.read()
    if head.startswith(b"PGDMP"):
        return Decoded(plain, "custom", compressed)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(head) - 4:  # not just a character cut at the 64 KB boundary
            return Decoded(None, None, compressed, f"not a PostgreSQL dump ({size} bytes{after}: neither a "
                                                   "custom-format archive nor SQL text)")
    if b"PostgreSQL database dump" not in head:
        return Decoded(None, None, compressed, f"not a PostgreSQL dump ({size} bytes{after} of text without "
                                               "pg_dump's header)")
    if COMPLETE not in tail:
        last = tail.rstrip().rsplit(b"\n", 1)[-1].decode(errors="replace")[:80]
        return Decoded(None, None, compressed, f"truncated: a plain dump ends with '{COMPLETE.decode()}'; "
                                               f"this one stops at: {last!r}")
    return Decoded(plain, "plain", compressed)

