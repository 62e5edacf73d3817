from __future__ import annotations

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from bot.transports.signature import sign, verify

# GitHub's documented test vector (docs: "Validating webhook deliveries").
DOC_SECRET = "It's a Secret to Everybody"
DOC_BODY = b"Hello, World!"
DOC_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_githubs_documented_example() -> None:
    assert sign(DOC_SECRET, DOC_BODY) == DOC_SIGNATURE
    assert verify(DOC_SECRET, DOC_BODY, DOC_SIGNATURE)


def test_rejections() -> None:
    assert not verify(DOC_SECRET, DOC_BODY, None)
    assert not verify(DOC_SECRET, DOC_BODY, "")
    assert not verify(DOC_SECRET, DOC_BODY + b" ", DOC_SIGNATURE)
    assert not verify("other", DOC_BODY, DOC_SIGNATURE)
    assert not verify(DOC_SECRET, DOC_BODY, DOC_SIGNATURE.upper())
    assert not verify(DOC_SECRET, DOC_BODY, "sha256=é" + DOC_SIGNATURE[8:])
    sha1 = "sha1=" + hmac.new(DOC_SECRET.encode(), DOC_BODY, hashlib.sha1).hexdigest()
    assert not verify(DOC_SECRET, DOC_BODY, sha1)


@given(st.binary(max_size=256), st.text(min_size=1, max_size=32))
def test_sign_then_verify(body: bytes, secret: str) -> None:
    assert verify(secret, body, sign(secret, body))
    assert not verify(secret + "x", body, sign(secret, body))
