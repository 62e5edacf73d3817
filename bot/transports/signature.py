"""Webhook signatures: GitHub's `X-Hub-Signature-256` (HMAC-SHA256 of the raw body).

Only sha256 is accepted; the legacy sha1 `X-Hub-Signature` header is never enough on its
own. Comparison is constant-time (`hmac.compare_digest`).
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def sign(secret: str | bytes, body: bytes) -> str:
    """The `X-Hub-Signature-256` header value GitHub would send for `body`."""
    key = secret.encode() if isinstance(secret, str) else secret
    return PREFIX + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify(secret: str | bytes, body: bytes, header: str | None) -> bool:
    """True when `header` is a valid sha256 signature of `body` under `secret`."""
    if not header or not header.startswith(PREFIX):
        return False
    expected = sign(secret, body)
    # compare_digest on bytes of equal type; a non-ASCII header simply fails.
    try:
        return hmac.compare_digest(expected.encode("ascii"), header.strip().encode("ascii"))
    except UnicodeEncodeError:
        return False
