"""Redis locks for the queue: one reconcile per repository, one scheduler across replicas.

Per repository, four keys (`RepoLocks`), each step one Lua script, so no trigger can fall
between two of them:

- `queued`: a job for the repository is waiting in RQ's queue. `serve` enqueues a job only
  when it sets this flag (`queue_or_mark`); otherwise the trigger joins the dirty list and
  the waiting job covers it. A job clears the flag when it starts. A backlog of deliveries
  for one repository is therefore one job, not one job each.
- `lock`: at most one reconcile of the repository runs, across every worker process. A job
  that finds it held appends its trigger to `dirty` and ends (coalesced).
- `dirty`: triggers waiting for the next pass. The holder, when a pass ends, either
  releases the lock (nothing arrived) or takes them all and passes once more, keeping it.
- `running`: the triggers the current pass covers. It is cleared when the pass succeeds;
  a holder that died (SIGKILL) or failed leaves it, and the next holder covers it too.

The lock has a TTL the holder renews (`Renewer`); a holder that dies stops renewing, the
lock expires, and RQ re-runs the dead worker's job (abandoned-job cleanup).

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

QUEUED_TTL = 600  # seconds the "a job is waiting" flag lasts if its job never starts

# KEYS: queued, dirty[, delivery id]. ARGV: trigger, queued ttl s, dirty ttl s[, id ttl s].
# 2: the delivery id was claimed already (a duplicate); 1: enqueue a job; 0: marked.
_QUEUE_OR_MARK = """
if KEYS[3] and not redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[4]) then return 2 end
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then return 1 end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 0
"""
# KEYS: lock, dirty. ARGV: token, ttl ms, trigger, dirty ttl s. 1: acquired; 0: marked dirty.
_ACQUIRE_OR_MARK = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
redis.call('RPUSH', KEYS[2], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return 0
"""
# KEYS: dirty, running. ARGV: dirty ttl s. Moves dirty onto running; returns running.
_TAKE = """
while redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT') do end
redis.call('EXPIRE', KEYS[2], ARGV[1])
return redis.call('LRANGE', KEYS[2], 0, -1)
"""
# KEYS: lock, dirty, running. ARGV: token, dirty ttl s. {}: released; {triggers...}: run
# again for them (lock kept); false (nil): the lock is not ours any more.
_RELEASE_OR_TAKE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
redis.call('DEL', KEYS[3])
if redis.call('LLEN', KEYS[2]) == 0 then
  redis.call('DEL', KEYS[1])
  return {}
end
redis.call('RENAME', KEYS[2], KEYS[3])
redis.call('EXPIRE', KEYS[3], ARGV[2])
return redis.call('LRANGE', KEYS[3], 0, -1)
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
    """The per-repository flag, lock and lists (see the module's docstring)."""

    def __init__(self, client: Any, *, ttl: float = LOCK_TTL) -> None:
        self._client = client
        self.ttl = ttl
        self._queue = client.register_script(_QUEUE_OR_MARK)
        self._acquire = client.register_script(_ACQUIRE_OR_MARK)
        self._take = client.register_script(_TAKE)
        self._release_or_take = client.register_script(_RELEASE_OR_TAKE)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    @staticmethod
    def key(repo: str, what: str) -> str:
        return f"{PREFIX}{what}:{repo}"

    def queue_or_mark(self, repo: str, trigger: bytes, claim: tuple[str, int] | None = None) -> int:
        """1: no job was waiting for `repo`; enqueue one. 0: `trigger` joined the dirty
        list, for the waiting job (or the running pass) to cover. 2: `claim` (a delivery
        id's key and TTL, claimed first in the same step) was taken already: a duplicate."""
        keys = [self.key(repo, "queued"), self.key(repo, "dirty")]
        args: list[Any] = [trigger, QUEUED_TTL, DIRTY_TTL]
        if claim is not None:
            keys.append(claim[0])
            args.append(claim[1])
        return int(self._queue(keys=keys, args=args))

    def started(self, repo: str) -> None:
        """A job for `repo` has started: later triggers need a job of their own."""
        self._client.delete(self.key(repo, "queued"))

    def acquire_or_mark(self, repo: str, token: str, trigger: bytes) -> bool:
        """True: `token` now holds `repo`. False: it was held; `trigger` waits in its list."""
        keys = [self.key(repo, "lock"), self.key(repo, "dirty")]
        return bool(
            self._acquire(keys=keys, args=[token, int(self.ttl * 1000), trigger, DIRTY_TTL])
        )

    def take(self, repo: str) -> list[bytes]:
        """Holding the lock: every waiting trigger, and those a dead or failed holder
        left, now this pass's (`running`)."""
        keys = [self.key(repo, "dirty"), self.key(repo, "running")]
        return [bytes(x) for x in self._take(keys=keys, args=[DIRTY_TTL])]

    def release_or_take(self, repo: str, token: str) -> list[bytes] | None:
        """After a successful pass. []: released. Triggers: they arrived meanwhile; the
        lock is still ours. None: the lock expired (or Redis lost it) while we held it."""
        keys = [self.key(repo, w) for w in ("lock", "dirty", "running")]
        found = self._release_or_take(keys=keys, args=[token, DIRTY_TTL])
        return None if found is None else [bytes(x) for x in found]

    def renew(self, repo: str, token: str) -> bool:
        keys = [self.key(repo, "lock")]
        return bool(self._renew(keys=keys, args=[token, int(self.ttl * 1000)]))

    def release(self, repo: str, token: str) -> None:
        """Give the lock up after a failed pass: its triggers stay in `running` for the
        job's retry, or the next job for the repository."""
        self._release(keys=[self.key(repo, "lock")], args=[token])


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
