"""Kubernetes' protobuf request bodies, for the kinds kubectl's typed clients create with them.

kubectl (1.37) sends `kubectl create namespace` and `kubectl create secret` as
application/vnd.kubernetes.protobuf: the magic "k8s\\0", then a runtime.Unknown
(1 typeMeta {1 apiVersion, 2 kind}, 2 raw) whose raw bytes are the object.  The
field numbers below are those of k8s.io/api's generated.proto.  Other kinds get 415.
"""

from __future__ import annotations

import base64
from typing import Any

MAGIC = b"k8s\x00"


class Unsupported(ValueError):
    """A protobuf body of a kind this decoder does not know."""


def _fields(data: bytes) -> list[tuple[int, Any]]:
    """(field number, value) pairs of one message: varints as int, length-delimited as bytes."""
    out, i = [], 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(data, i)
        elif wire == 2:
            size, i = _varint(data, i)
            value, i = data[i:i + size], i + size
        elif wire == 1:
            value, i = data[i:i + 8], i + 8
        elif wire == 5:
            value, i = data[i:i + 4], i + 4
        else:
            raise ValueError(f"protobuf wire type {wire} is not supported")
        out.append((number, value))
    return out


def _varint(data: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if i >= len(data):
            raise ValueError("truncated protobuf varint")
        b = data[i]
        result |= (b & 0x7F) << shift
        i += 1
        if not b & 0x80:
            return result, i
        shift += 7


def _map(entries: list[bytes], text_values: bool = True) -> dict[str, Any]:
    out = {}
    for entry in entries:
        kv = dict(_fields(entry))
        value = kv.get(2, b"")
        out[kv.get(1, b"").decode()] = value.decode() if text_values else value
    return out


def _metadata(data: bytes) -> dict[str, Any]:
    f = _fields(data)
    meta: dict[str, Any] = {}
    for number, key in ((1, "name"), (2, "generateName"), (3, "namespace")):
        values = [v for n, v in f if n == number]
        if values:
            meta[key] = values[-1].decode()
    for number, key in ((11, "labels"), (12, "annotations")):
        entries = [v for n, v in f if n == number]
        if entries:
            meta[key] = _map(entries)
    return meta


def decode(body: bytes) -> dict[str, Any]:
    """The JSON form of a protobuf-encoded Namespace or Secret."""
    if not body.startswith(MAGIC):
        raise ValueError("not a Kubernetes protobuf body")
    unknown = dict(_fields(body[len(MAGIC):]))
    type_meta = dict(_fields(unknown.get(1, b"")))
    api_version, kind = type_meta.get(1, b"").decode(), type_meta.get(2, b"").decode()
    fields = _fields(unknown.get(2, b""))
    obj: dict[str, Any] = {"apiVersion": api_version, "kind": kind}
    meta = [v for n, v in fields if n == 1]
    obj["metadata"] = _metadata(meta[-1]) if meta else {}
    if (api_version, kind) == ("v1", "Namespace"):
        return obj
    if (api_version, kind) == ("v1", "Secret"):
        data = _map([v for n, v in fields if n == 2], text_values=False)
        obj["data"] = {k: base64.b64encode(v).decode() for k, v in data.items()}
        string_data = _map([v for n, v in fields if n == 4])
        if string_data:
            obj["stringData"] = string_data
        types = [v for n, v in fields if n == 3]
        if types:
            obj["type"] = types[-1].decode()
        return obj
    raise Unsupported(f"{api_version} {kind}")
