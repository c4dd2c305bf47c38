"""Keyed pseudonyms for person identifiers (HMAC-SHA256), computed inside DuckDB.

A plain hash of a sequential dossier number or a NIR can be reversed by enumerating every candidate;
a keyed hash cannot without the key. The key comes from ``MILO_PSEUDO_KEY`` (hex, at least 256 bits),
lives outside the warehouse, the repository and the logs, and is never part of an error message: this
class hides it from ``repr`` and passes it to DuckDB as query parameters only.

HMAC is written in SQL (RFC 2104: H(K xor opad || H(K xor ipad || m))) so that tens of millions of
identifiers are pseudonymised by DuckDB's vectorised ``sha256`` rather than a Python loop.

The pseudonym is the HMAC truncated to its first 128 bits (32 hex digits), as RFC 2104 section 5 allows
(at least half the hash output): collisions stay out of reach (about 1e-23 for ten million people) and
the column costs half as much to store and join as the full 64 digits (docs/benchmarks.md).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field

KEY_VAR = "MILO_PSEUDO_KEY"
MIN_KEY_BYTES = 32
BLOCK = 64
# Hex digits kept of the HMAC-SHA256: 128 bits.
PSEUDONYM_HEX_DIGITS = 32
# Public on purpose: it only ever pseudonymises synthetic data, and every materialisation that uses it
# says so in its metadata. Real deliveries refuse to load without MILO_PSEUDO_KEY.
DEMO_KEY = hashlib.sha256(b"milo synthetic demo key - public, never for real data").digest()


class MissingKeyError(RuntimeError):
    pass


@dataclass(frozen=True)
class PseudoKey:
    secret: bytes = field(repr=False)
    is_demo: bool = False

    @property
    def key_id(self) -> str:
        """Names the key without revealing it: stored beside every pseudonym."""
        prefix = "demo-" if self.is_demo else "k-"
        return prefix + hmac.new(self.secret, b"milo key id", hashlib.sha256).hexdigest()[:12]

    def pads(self) -> tuple[bytes, bytes]:
        key = self.secret if len(self.secret) <= BLOCK else hashlib.sha256(self.secret).digest()
        key = key.ljust(BLOCK, b"\0")
        return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)

    def pseudonym(self, namespace: str, identifier: str) -> str:
        """Reference implementation in Python (tests compare the SQL version with it)."""
        digest = hmac.new(self.secret, f"{namespace}:{identifier}".encode(), hashlib.sha256).hexdigest()
        return digest[:PSEUDONYM_HEX_DIGITS]


def sql_hmac(value_sql: str, namespace: str) -> str:
    """SQL expression pseudonymising `value_sql`; expects the pads as parameters $ipad and $opad.

    `namespace` is the system whose identifier space the value belongs to: the P3 dossier number carried
    by a migrated I-Milo dossier uses namespace "parcours3", so it pseudonymises to the same value as in
    the P3 files and the two records link.
    """
    message = f"encode('{namespace}:' || {value_sql})"
    digest = f"sha256($opad || unhex(sha256($ipad || {message})))"
    return f"CASE WHEN {value_sql} IS NULL THEN NULL ELSE left({digest}, {PSEUDONYM_HEX_DIGITS}) END"


def key_from_environment(allow_demo: bool) -> PseudoKey:
    """The key from MILO_PSEUDO_KEY; the public demo key only when `allow_demo` (synthetic data)."""
    raw = os.environ.get(KEY_VAR, "").strip()
    if raw:
        try:
            secret = bytes.fromhex(raw)
        except ValueError:
            raise MissingKeyError(f"{KEY_VAR} must be hexadecimal (for example `openssl rand -hex 32`)") from None
        if len(secret) < MIN_KEY_BYTES:
            raise MissingKeyError(f"{KEY_VAR} must hold at least {MIN_KEY_BYTES} bytes (64 hex digits)")
        return PseudoKey(secret)
    if allow_demo:
        return PseudoKey(DEMO_KEY, is_demo=True)
    raise MissingKeyError(
        f"{KEY_VAR} is not set: real deliveries are not loaded without a pseudonymisation key. "
        "Only synthetic deliveries (manifest 'synthetic': true) may use the public demo key."
    )
