"""The RSGI front's body reading: bounded, timed, and whole (a real async stream of chunks,
as granian hands them over)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from bot.transports.front import CUT_SHORT, TOO_SLOW, declared_length, read_body


class Stream:
    """An RSGI request body: chunks arriving with a pause before each."""

    def __init__(self, chunks: list[bytes], pause: float = 0.0) -> None:
        self.chunks = chunks
        self.pause = pause

    async def _gen(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            await asyncio.sleep(self.pause)
            yield chunk

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._gen()

    async def __call__(self) -> bytes:  # the whole body at once (a declared length)
        return b"".join([chunk async for chunk in self._gen()])


def read(stream: Stream, length: int | None, limit: int = 100, timeout: float = 1.0) -> object:
    return asyncio.run(read_body(stream, length, limit, timeout))


def test_whole_body_with_and_without_a_length() -> None:
    assert read(Stream([b"ab", b"cd"]), 4) == b"abcd"
    assert read(Stream([b"ab", b"cd"]), None) == b"abcd"  # chunked
    assert read(Stream([]), 0) == b""


def test_declared_length_over_the_limit_reads_nothing() -> None:
    never = Stream([b"x"], pause=60)
    assert read(never, 101, limit=100) is None


def test_chunked_body_is_cut_off_at_the_limit() -> None:
    assert read(Stream([b"x" * 60, b"x" * 60, b"x" * 60]), None, limit=100) is None


def test_a_body_that_trickles_past_the_timeout_is_too_slow() -> None:
    assert read(Stream([b"a"] * 50, pause=0.05), 50, timeout=0.3) is TOO_SLOW


def test_a_body_shorter_than_declared_is_cut_short() -> None:
    assert read(Stream([b"abc"]), 10) is CUT_SHORT


def test_declared_length() -> None:
    assert declared_length({"content-length": "12"}) == 12
    assert declared_length({"transfer-encoding": "chunked"}) is None
    assert declared_length({}) == 0


class Gone(Stream):
    async def __call__(self) -> bytes:
        raise RuntimeError("RSGI transport is closed")  # what granian raises


def test_a_client_gone_mid_body_is_cut_short() -> None:
    assert read(Gone([]), 10) is CUT_SHORT
