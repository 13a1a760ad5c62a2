"""Redis as a peer: Debian's ``redis-server``, started on a free loopback port with a temporary
directory and no persistence, stopped by PID. Two configurations:

``Redis`` (the strongest we know, what the targets use): every batch is one server-side Lua
loop per chunk of ``CHUNK`` endpoints, one ``EVALSHA`` per chunk (``FLIP_CHUNK``,
``ACQUIRE_CHUNK``, ``RENEW_CHUNK``, ``RELEASE_CHUNK``, ``READ_CHUNK``); a plan stored with a
tree for every endpoint is marked ``p:<gen>:full`` so that its flips skip the per-endpoint tree
test (as the store and the numpy peer do); redis-py parses replies with hiredis when it is
installed (requirements-dev.txt installs it). All chunks of a batch go in one pipeline. Redis
Functions (``FCALL``) would run the same Lua loop in the same engine; they were not measured.
The scripts do not test the dangling rule (the active tree's presence), which the store does:
less work for Redis.

``Redis per-key pipelined``: the same data, one ``EVALSHA`` per endpoint through redis-py
pipelines of ``CHUNK`` calls (what a client written key by key sends), kept for comparison.

Keys: ``n`` (name -> id), ``p:<gen>`` (endpoint id -> target-set index of that plan),
``s:<gen>:<k>`` (a target set), ``e:<id>`` (a hash: ``a`` alias, ``r`` rollback, ``v``
version, ``f`` highest fence), ``l:<id>`` (a lease: ``holder:token``).

- generation CAS (``if_newer``), ``exact`` and fenced flips: one Lua script (``FLIP``) per
  endpoint, called with EVALSHA through redis-py pipelines of ``CHUNK`` calls: the tree must
  exist, the fence must not be lower than the highest seen, the mode's condition must hold;
  then alias, rollback and version are written together.
- last-write-wins: plain pipelined ``HSET e:<id> a <gen>`` (no read, so no rollback and no
  version: what a last-write-wins client writes).
- leases: a token from ``HINCRBY e:<id> f 1``, then ``SET l:<id> holder:token NX PX ttl``;
  renew and release are compare-then-act Lua scripts on that value.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from typing import Any

from bench.suite.peers.base import (
    HOLDER,
    PLANS,
    TTL_S,
    LeaseOp,
    Mode,
    PeerUnavailable,
    fleet_plans,
    group_of,
    next_fence,
)
from dnsrace._children import reap
from dnsrace.sim.workload import endpoint_name

CHUNK = 1000
"""Calls per pipeline round trip."""

FLIP = """
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return 3 end
local cur = redis.call('HMGET', KEYS[1], 'a', 'v', 'f')
local a = tonumber(cur[1]) or 0
local v = tonumber(cur[2]) or 0
local g = tonumber(ARGV[2])
if ARGV[5] ~= '' then
  if tonumber(ARGV[5]) < (tonumber(cur[3]) or 0) then return 2 end
  redis.call('HSET', KEYS[1], 'f', ARGV[5])
end
if ARGV[3] == 'n' and g <= a then return 1 end
if ARGV[3] == 'e' and v ~= tonumber(ARGV[4]) then return 1 end
redis.call('HSET', KEYS[1], 'a', ARGV[2], 'r', a, 'v', v + 1)
return 0
"""
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# KEYS: e:<id> of the chunk. ARGV: plan key, generation, mode (n if_newer, e exact, l lww),
# fence ('' none), then the chunk's ids, then (exact) their expected versions. Decides as the
# store does: tree present, fence not below the highest, the mode's condition; then alias,
# rollback, version (and the highest fence) are written together. Returns the flips applied.
FLIP_CHUNK = """
local plan, g, mode, fence = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local n = #KEYS
local full = redis.call('EXISTS', plan .. ':full') == 1
local applied = 0
for i = 1, n do
  if full or redis.call('HEXISTS', plan, ARGV[4 + i]) == 1 then
    local cur = redis.call('HMGET', KEYS[i], 'a', 'v', 'f')
    local a = tonumber(cur[1]) or 0
    local v = tonumber(cur[2]) or 0
    local ok = not fence or fence >= (tonumber(cur[3]) or 0)
    if ok then
      if mode == 'n' then ok = g > a
      elseif mode == 'e' then ok = v == tonumber(ARGV[4 + n + i]) end
    end
    if ok then
      if fence then
        redis.call('HSET', KEYS[i], 'a', ARGV[2], 'r', a, 'v', v + 1, 'f', ARGV[4])
      else
        redis.call('HSET', KEYS[i], 'a', ARGV[2], 'r', a, 'v', v + 1)
      end
      applied = applied + 1
    end
  end
end
return applied
"""
# KEYS: l:<id> of the chunk. ARGV: holder, ttl in ms, then the chunk's ids. A lease is granted
# when free, expired (Redis drops it) or the holder's own: token from the endpoint's highest
# fence. Returns the tokens (0 = refused).
ACQUIRE_CHUNK = """
local holder, ttl = ARGV[1], ARGV[2]
local prefix = holder .. ':'
local out = {}
for i = 1, #KEYS do
  local cur = redis.call('GET', KEYS[i])
  if not cur or string.sub(cur, 1, #prefix) == prefix then
    local t = redis.call('HINCRBY', 'e:' .. ARGV[2 + i], 'f', 1)
    redis.call('SET', KEYS[i], prefix .. t, 'PX', ttl)
    out[i] = t
  else
    out[i] = 0
  end
end
return out
"""
# KEYS: l:<id>. ARGV: ttl in ms, then the values held (holder:token). Returns how many renewed.
RENEW_CHUNK = """
local done = 0
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1 + i] then
    redis.call('PEXPIRE', KEYS[i], ARGV[1])
    done = done + 1
  end
end
return done
"""
RELEASE_CHUNK = """
local done = 0
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[i] then
    redis.call('DEL', KEYS[i])
    done = done + 1
  end
end
return done
"""
# KEYS: e:<id>. Returns the aliases.
READ_CHUNK = """
local out = {}
for i = 1, #KEYS do
  out[i] = tonumber(redis.call('HGET', KEYS[i], 'a')) or 0
end
return out
"""
_MODE_ARG = {"if_newer": "n", "exact": "e", "fenced": "l", "lww": "l"}


def redis_binary() -> str | None:
    """Path of the Redis server (``DNSRACE_REDIS`` overrides the name), or None."""
    return shutil.which(os.environ.get("DNSRACE_REDIS", "redis-server"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for lo in range(0, len(ids), CHUNK):
        yield ids[lo : lo + CHUNK]


class RedisServer:
    """One ``redis-server`` on loopback: no RDB, no AOF, data in a temporary directory."""

    def __init__(self) -> None:
        binary = redis_binary()
        if binary is None:
            name = os.environ.get("DNSRACE_REDIS", "redis-server")
            raise PeerUnavailable(f"{name} not found (make redis installs Debian's redis-server)")
        try:
            import redis
        except ImportError:
            raise PeerUnavailable("the redis Python package is not installed") from None
        self.tmp = tempfile.TemporaryDirectory(prefix="dnsrace-redis-")
        self.port = _free_port()
        log = open(os.path.join(self.tmp.name, "redis.log"), "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                self.tmp.name,
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        self.client: Any = redis.Redis(host="127.0.0.1", port=self.port)
        deadline = time.monotonic() + 10.0
        while True:
            if self.process.poll() is not None:
                self.stop()
                raise PeerUnavailable(f"redis-server exited with {self.process.returncode}")
            try:
                self.client.ping()
                break
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise PeerUnavailable("redis-server did not answer PING in 10 s") from None
                time.sleep(0.05)

    def used_memory(self) -> int:
        return int(self.client.info("memory")["used_memory"])

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()
        if self.process.poll() is None:
            self.process.terminate()
            reap(self.process, 10)
        self.tmp.cleanup()


class RedisPeer:
    """One ``EVALSHA`` per endpoint through pipelines (the per-key configuration)."""

    name = "Redis per-key pipelined"

    def __init__(self) -> None:
        self.server = RedisServer()
        self.r = self.server.client
        self.flip_sha = self.r.script_load(FLIP)
        self.renew_sha = self.r.script_load(RENEW)
        self.release_sha = self.r.script_load(RELEASE)
        self.n = 0
        self._base = 0
        self._versions: dict[int, int] = {}
        self._tokens: dict[int, int] = {}
        self._fence = next_fence()

    def load(self, n: int) -> None:
        self._base = self.server.used_memory()
        pipe = self.r.pipeline(transaction=False)
        for lo in range(0, n, CHUNK):
            ids = range(lo, min(n, lo + CHUNK))
            pipe.hset("n", mapping={endpoint_name(i): i for i in ids})
            for g in range(1, PLANS + 1):
                pipe.hset(f"p:{g}", mapping={i: group_of(i) for i in ids})
            for i in ids:
                pipe.hset(f"e:{i}", mapping={"a": 1, "v": 1})
            pipe.execute()
        for g, sets in fleet_plans():
            for k, targets in enumerate(sets):
                pipe.set(f"s:{g}:{k}", ";".join(f"{ip},{w}" for ip, w in targets))
            # Every endpoint has a tree of every plan here.
            pipe.set(f"p:{g}:full", 1)
        pipe.execute()
        self.n = n

    def _ids(self, ids: Sequence[int] | None) -> Sequence[int]:
        return range(self.n) if ids is None else ids

    def prepare(self, ids: Sequence[int] | None, mode: Mode) -> None:
        self._fence = next_fence()
        if mode != "exact":
            return
        pipe = self.r.pipeline(transaction=False)
        self._versions = {}
        for chunk in _chunks(self._ids(ids)):
            for i in chunk:
                pipe.hget(f"e:{i}", "v")
            self._versions.update(zip(chunk, map(int, pipe.execute()), strict=True))

    def _flip_args(self, i: int, mode: Mode, generation: int) -> tuple[Any, ...]:
        expected = str(self._versions[i]) if mode == "exact" else ""
        fence = str(self._fence) if mode == "fenced" else ""
        return (
            self.flip_sha,
            2,
            f"e:{i}",
            f"p:{generation}",
            i,
            generation,
            _MODE_ARG[mode],
            expected,
            fence,
        )

    def flip_batch(self, ids: Sequence[int] | None, mode: Mode, generation: int) -> int:
        pipe = self.r.pipeline(transaction=False)
        applied = 0
        for chunk in _chunks(self._ids(ids)):
            if mode == "lww":
                for i in chunk:
                    pipe.hset(f"e:{i}", "a", generation)
                applied += len(pipe.execute())
            else:
                for i in chunk:
                    pipe.evalsha(*self._flip_args(i, mode, generation))
                applied += sum(1 for x in pipe.execute() if x == 0)
        return applied

    def flip_single(self, ids: Sequence[int], mode: Mode, generation: int) -> int:
        r, applied = self.r, 0
        for i in ids:
            if mode == "lww":
                r.hset(f"e:{i}", "a", generation)
                applied += 1
            else:
                applied += r.evalsha(*self._flip_args(i, mode, generation)) == 0
        return applied

    def read_batch(self, ids: Sequence[int] | None) -> int | None:
        pipe = self.r.pipeline(transaction=False)
        read = 0
        for chunk in _chunks(self._ids(ids)):
            for i in chunk:
                pipe.hget(f"e:{i}", "a")
            read += len(pipe.execute())
        return read

    def _value(self, i: int) -> str:
        return f"{HOLDER}:{self._tokens[i]}"

    def lease_batch(self, ids: Sequence[int], op: LeaseOp) -> int:
        pipe = self.r.pipeline(transaction=False)
        done = 0
        ttl_ms = int(TTL_S * 1000)
        for chunk in _chunks(ids):
            if op == "acquire":
                for i in chunk:
                    pipe.hincrby(f"e:{i}", "f", 1)
                tokens = pipe.execute()
                for i, token in zip(chunk, tokens, strict=True):
                    self._tokens[i] = int(token)
                    pipe.set(f"l:{i}", self._value(i), nx=True, px=ttl_ms)
            else:
                sha = self.renew_sha if op == "renew" else self.release_sha
                for i in chunk:
                    if op == "renew":
                        pipe.evalsha(sha, 1, f"l:{i}", self._value(i), ttl_ms)
                    else:
                        pipe.evalsha(sha, 1, f"l:{i}", self._value(i))
            done += sum(1 for x in pipe.execute() if x)
        return done

    def lease_single(self, ids: Sequence[int], op: LeaseOp) -> int:
        r, done = self.r, 0
        ttl_ms = int(TTL_S * 1000)
        for i in ids:
            if op == "acquire":
                self._tokens[i] = int(r.hincrby(f"e:{i}", "f", 1))
                done += bool(r.set(f"l:{i}", self._value(i), nx=True, px=ttl_ms))
            elif op == "renew":
                done += bool(r.evalsha(self.renew_sha, 1, f"l:{i}", self._value(i), ttl_ms))
            else:
                done += bool(r.evalsha(self.release_sha, 1, f"l:{i}", self._value(i)))
        return done

    def used_bytes(self) -> int:
        return self.server.used_memory() - self._base

    def close(self) -> None:
        self.server.stop()


class RedisChunkPeer(RedisPeer):
    """Every batch as one server-side Lua loop per chunk of ``CHUNK`` endpoints."""

    name = "Redis"

    def __init__(self) -> None:
        super().__init__()
        self.flip_chunk = self.r.script_load(FLIP_CHUNK)
        self.acquire_chunk = self.r.script_load(ACQUIRE_CHUNK)
        self.renew_chunk = self.r.script_load(RENEW_CHUNK)
        self.release_chunk = self.r.script_load(RELEASE_CHUNK)
        self.read_chunk = self.r.script_load(READ_CHUNK)

    def flip_batch(self, ids: Sequence[int] | None, mode: Mode, generation: int) -> int:
        pipe = self.r.pipeline(transaction=False)
        fence = str(self._fence) if mode == "fenced" else ""
        flag = _MODE_ARG[mode]
        chunks = list(_chunks(self._ids(ids)))
        for chunk in chunks:
            keys = [f"e:{i}" for i in chunk]
            extra = [self._versions[i] for i in chunk] if mode == "exact" else []
            pipe.evalsha(
                self.flip_chunk,
                len(keys),
                *keys,
                f"p:{generation}",
                generation,
                flag,
                fence,
                *chunk,
                *extra,
            )
        # All chunks in one pipeline: the server runs them back to back.
        return sum(int(x) for x in pipe.execute())

    def read_batch(self, ids: Sequence[int] | None) -> int:
        pipe = self.r.pipeline(transaction=False)
        for chunk in _chunks(self._ids(ids)):
            keys = [f"e:{i}" for i in chunk]
            pipe.evalsha(self.read_chunk, len(keys), *keys)
        return sum(len(x) for x in pipe.execute())

    def lease_batch(self, ids: Sequence[int], op: LeaseOp) -> int:
        pipe = self.r.pipeline(transaction=False)
        ttl_ms = int(TTL_S * 1000)
        chunks = list(_chunks(ids))
        for chunk in chunks:
            keys = [f"l:{i}" for i in chunk]
            if op == "acquire":
                pipe.evalsha(self.acquire_chunk, len(keys), *keys, HOLDER, ttl_ms, *chunk)
            elif op == "renew":
                values = [self._value(i) for i in chunk]
                pipe.evalsha(self.renew_chunk, len(keys), *keys, ttl_ms, *values)
            else:
                values = [self._value(i) for i in chunk]
                pipe.evalsha(self.release_chunk, len(keys), *keys, *values)
        results = pipe.execute()
        if op != "acquire":
            return sum(int(x) for x in results)
        done = 0
        for chunk, tokens in zip(chunks, results, strict=True):
            for i, t in zip(chunk, tokens, strict=True):
                if t:
                    self._tokens[i] = int(t)
                    done += 1
        return done
