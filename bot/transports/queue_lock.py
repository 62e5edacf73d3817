"""Redis locks for the queue: one reconcile per repository, one scheduler across replicas.

`RepoLocks` keeps at most one reconcile of a repository running across every worker
process. A job for a repository whose lock is held does not wait: it appends its trigger
to the repository's "dirty" list and ends (coalesced). The holder, when its reconcile
ends, either releases the lock (nothing arrived meanwhile) or takes every trigger that
arrived and reconciles once more for all of them, keeping the lock. Both steps are one
Lua script each, so a trigger can never fall between "the holder looked" and "the holder
released". The lock has a TTL the holder renews (`Renewer`); a holder that dies stops
renewing, the lock expires, and RQ re-runs the dead worker's job (abandoned-job cleanup).

`LeaderLock` is the same kind of lock for one name: the `serve` replica holding it is the
one whose scheduler ticks; the others keep watching and take over when it expires.

Redis holds work, never state: losing these keys costs at most a duplicate reconcile
(safe: the ledger's compare-and-swap) or a tick the next interval redoes.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

LOG = logging.getLogger("release_train.queue")
PREFIX = "release-train:"
LOCK_TTL = 30.0  # seconds a reconcile lock outlives its holder's last renewal
DIRTY_TTL = 24 * 3600  # seconds triggers wait for a holder that died

# KEYS: lock, dirty. ARGV: token, ttl ms, trigger, dirty ttl s. 1: acquired; 0: marked dirty.
_ACQUIRE_OR_MARK = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
redis.call('RPUSH', KEYS[2], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return 0
"""
# KEYS: lock, dirty. ARGV: token. {}: released; {triggers...}: run again (lock kept);
# false (nil): the lock is not ours any more.
_RELEASE_OR_TAKE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
local items = redis.call('LRANGE', KEYS[2], 0, -1)
if #items == 0 then
  redis.call('DEL', KEYS[1])
else
  redis.call('DEL', KEYS[2])
end
return items
"""
# KEYS: lock. ARGV: token, ttl ms. 1: renewed; 0: not ours.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
# KEYS: lock. ARGV: token. Deletes it only if ours.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def new_token() -> str:
    return uuid.uuid4().hex


class RepoLocks:
    """The per-repository lock and dirty list (see the module's docstring)."""

    def __init__(self, client: Any, *, ttl: float = LOCK_TTL) -> None:
        self._client = client
        self.ttl = ttl
        self._acquire = client.register_script(_ACQUIRE_OR_MARK)
        self._take = client.register_script(_RELEASE_OR_TAKE)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    @staticmethod
    def keys(repo: str) -> list[str]:
        return [f"{PREFIX}lock:{repo}", f"{PREFIX}dirty:{repo}"]

    def acquire_or_mark(self, repo: str, token: str, trigger: bytes) -> bool:
        """True: `token` now holds `repo`. False: it was held; `trigger` waits in its list."""
        args = [token, int(self.ttl * 1000), trigger, DIRTY_TTL]
        return bool(self._acquire(keys=self.keys(repo), args=args))

    def release_or_take(self, repo: str, token: str) -> list[bytes] | None:
        """[]: released. Triggers: they arrived meanwhile; the lock is still ours.
        None: the lock expired (or Redis lost it) while we held it."""
        found = self._take(keys=self.keys(repo), args=[token])
        return None if found is None else [bytes(x) for x in found]

    def take(self, repo: str) -> list[bytes]:
        """Every trigger waiting in the dirty list, removed (call holding the lock)."""
        dirty = self.keys(repo)[1]
        with self._client.pipeline() as pipe:
            found, _ = pipe.lrange(dirty, 0, -1).delete(dirty).execute()
        return [bytes(x) for x in found]

    def mark(self, repo: str, triggers: list[bytes]) -> None:
        """Append `triggers` to the dirty list (for whoever holds or takes the lock next)."""
        if triggers:
            dirty = self.keys(repo)[1]
            with self._client.pipeline() as pipe:
                pipe.rpush(dirty, *triggers).expire(dirty, DIRTY_TTL).execute()

    def renew(self, repo: str, token: str) -> bool:
        return bool(self._renew(keys=self.keys(repo)[:1], args=[token, int(self.ttl * 1000)]))

    def release(self, repo: str, token: str) -> None:
        """Give the lock up without taking the waiting triggers (after a failure: the
        job's retry, or the next job for the repository, finds them)."""
        self._release(keys=self.keys(repo)[:1], args=[token])


class Renewer:
    """A thread calling `renew()` every `every` seconds until stopped (or it returns False)."""

    def __init__(self, renew: Callable[[], bool], every: float, name: str = "lock-renewer"):
        self._renew = renew
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def __enter__(self) -> Renewer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _loop(self) -> None:
        while not self._stop.wait(self._every):
            try:
                if not self._renew():
                    LOG.warning("a queue lock was lost before its holder finished")
                    return
            except Exception as exc:  # Redis away: keep trying, the TTL decides
                LOG.warning("renewing a queue lock failed", extra={"error": type(exc).__name__})


class LeaderLock:
    """`is_leader()` is True in the one process (of those sharing the Redis) holding `name`.

    A thread tries to take the lock every `ttl / 3` seconds and renews it while held; when
    Redis cannot be reached no one is leader (ticks wait; the next interval redoes them)."""

    def __init__(self, client: Any, name: str = "scheduler", *, ttl: float = 15.0) -> None:
        self._client = client
        self._key = f"{PREFIX}leader:{name}"
        self._token = new_token()
        self._ttl_ms = int(ttl * 1000)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)
        self._leader = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._every = ttl / 3

    def is_leader(self) -> bool:
        return self._leader

    def step(self) -> bool:
        """Take or keep the lock once; whether this process leads now."""
        try:
            if self._leader:
                self._leader = bool(self._renew(keys=[self._key], args=[self._token, self._ttl_ms]))
            if not self._leader:
                taken = self._client.set(self._key, self._token, nx=True, px=self._ttl_ms)
                self._leader = bool(taken)
        except Exception as exc:  # unreachable: nobody may claim to lead
            self._leader = False
            LOG.warning("leader lock unavailable", extra={"error": type(exc).__name__})
        return self._leader

    def start(self) -> None:
        if self._thread is None:
            self.step()
            self._thread = threading.Thread(target=self._loop, name="leader", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._leader:
            with contextlib.suppress(Exception):  # expiry releases it anyway
                self._release(keys=[self._key], args=[self._token])
        self._leader = False

    def _loop(self) -> None:
        while not self._stop.wait(self._every):
            self.step()
