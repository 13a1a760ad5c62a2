"""The snapshot file format in pure Python, for the reference store (``PyRecordStore``).

The same format version 1 as the Rust core (``rust/core/src/store/snapshot.rs`` documents the
layout), so a snapshot of either store restores into the other. Decoding checks every count
against the bytes left and every value against the store's rules; any problem raises
``SnapshotError``.
"""

from __future__ import annotations

import ipaddress
import math
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from dnsrace._types import STORE_COUNTERS
from dnsrace.errors import SnapshotError

MAGIC: Final = b"DNSRSNAP"
VERSION: Final = 1
SECTIONS: Final = (b"NAME", b"HOLD", b"SETS", b"PLAN", b"SLOT", b"CNTR", b"END\0")
COUNTER_NAMES: Final = STORE_COUNTERS
MAX_I63: Final = 2**63 - 1

Leaf = tuple[str, int]


@dataclass
class SlotData:
    alias: int = 0
    rollback: int = 0
    version: int = 0
    lease_token: int = 0
    highest_fence: int = 0
    holder: int = 0  # index + 1 into holders; 0 = none
    lease_expiry: float = 0.0


@dataclass
class StoreData:
    """Everything a snapshot holds, in plain values."""

    names: list[str] = field(default_factory=list)
    holders: list[str] = field(default_factory=list)
    sets: list[tuple[Leaf, ...]] = field(default_factory=list)
    # generation -> set index per endpoint (None: no tree), trailing None trimmed
    plans: dict[int, list[int | None]] = field(default_factory=dict)
    slots: list[SlotData] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)


def _varint(out: bytearray, value: int) -> None:
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def encode(data: StoreData) -> bytes:
    out = bytearray(MAGIC)
    out += struct.pack("<II", VERSION, 0)

    def section(tag: bytes, payload: bytes | bytearray) -> None:
        out.extend(tag)
        out.extend(struct.pack("<QI", len(payload), zlib.crc32(payload)))
        out.extend(payload)

    p = bytearray()
    _varint(p, len(data.names))
    p += bytes(len(n) for n in data.names)
    p += "".join(data.names).encode("ascii")
    section(SECTIONS[0], p)
    p = bytearray()
    _varint(p, len(data.holders))
    for h in data.holders:
        raw = h.encode("utf-8")
        _varint(p, len(raw))
        p += raw
    section(SECTIONS[1], p)
    p = bytearray()
    _varint(p, len(data.sets))
    for s in data.sets:
        _varint(p, len(s))
        for address, weight in s:
            ip = ipaddress.ip_address(address)
            p.append(4 if ip.version == 4 else 6)
            p += ip.packed
            p.append(weight)
    section(SECTIONS[2], p)
    p = bytearray()
    _varint(p, len(data.plans))
    for generation in sorted(data.plans):
        trees = data.plans[generation]
        _varint(p, generation)
        _varint(p, len(trees))
        for t in trees:
            _varint(p, 0 if t is None else t + 1)
    section(SECTIONS[3], p)
    p = bytearray()
    for slot in data.slots:
        fields = (
            slot.alias,
            slot.rollback,
            slot.version,
            slot.lease_token,
            slot.highest_fence,
            slot.holder,
        )
        expiry = struct.pack("<d", slot.lease_expiry)
        flags = sum(1 << bit for bit, f in enumerate(fields) if f)
        has_expiry = expiry != bytes(8)
        p.append(flags | (has_expiry << 6))
        for f in fields:
            if f:
                _varint(p, f)
        if has_expiry:
            p += expiry
    section(SECTIONS[4], p)
    p = bytearray()
    for name in COUNTER_NAMES:
        _varint(p, data.counters.get(name, 0))
    section(SECTIONS[5], p)
    section(SECTIONS[6], b"")
    return bytes(out)


def _corrupt(why: str) -> SnapshotError:
    return SnapshotError(f"not a valid dnsrace snapshot: {why}")


class _Reader:
    def __init__(self, payload: bytes, what: str) -> None:
        self.data = payload
        self.pos = 0
        self.what = what

    def left(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int) -> bytes:
        if n > self.left():
            raise _corrupt(f"{self.what} section ends early")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def varint(self) -> int:
        value = 0
        for shift in range(0, 70, 7):
            b = self.byte()
            if shift == 63 and b > 1:
                raise _corrupt(f"{self.what}: number too large")
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
        raise _corrupt(f"{self.what}: number too long")

    def count(self, min_bytes: int) -> int:
        n = self.varint()
        if n > self.left() // max(min_bytes, 1):
            raise _corrupt(f"{self.what}: count {n} larger than the data")
        return n

    def finish(self) -> None:
        if self.left():
            raise _corrupt(f"{self.what} section has {self.left()} bytes too many")


def _sections(blob: bytes) -> list[bytes]:
    if len(blob) < 16 or blob[:8] != MAGIC:
        raise SnapshotError("not a dnsrace snapshot (no DNSRSNAP header)")
    version, reserved = struct.unpack_from("<II", blob, 8)
    if version != VERSION:
        raise SnapshotError(
            f"snapshot format version {version} is not supported "
            f"(this build reads version {VERSION})"
        )
    if reserved:
        raise _corrupt("reserved header bytes are not zero")
    pos = 16
    out = []
    for tag in SECTIONS:
        name = tag.rstrip(b"\0").decode()
        if len(blob) - pos < 16:
            raise _corrupt(f"truncated before section {name}")
        if blob[pos : pos + 4] != tag:
            raise _corrupt(f"section {name} expected")
        length, crc = struct.unpack_from("<QI", blob, pos + 4)
        pos += 16
        if length > len(blob) - pos:
            raise _corrupt(f"section {name} is truncated")
        payload = blob[pos : pos + length]
        if zlib.crc32(payload) != crc:
            raise _corrupt(f"checksum of section {name} differs")
        out.append(payload)
        pos += length
    if pos != len(blob):
        raise _corrupt("bytes after the END section")
    return out


def decode(
    blob: bytes,
    name_of: Callable[[str], str],
    set_of: Callable[[object], tuple[Leaf, ...]],
) -> StoreData:
    """Parse and check a snapshot. ``name_of`` and ``set_of`` are the reference's validators of
    names and target sets (passed in so that this module does not import the store)."""
    names_p, holders_p, sets_p, plans_p, slots_p, counters_p, _ = _sections(blob)
    data = StoreData()

    r = _Reader(names_p, "NAME")
    n = r.count(2)
    lengths = r.take(n)
    seen: set[str] = set()
    for length in lengths:
        raw = r.take(length)
        try:
            text = raw.decode("ascii")
            ok = name_of(text) == text
        except (UnicodeDecodeError, ValueError):
            ok = False
        if not ok:
            raise _corrupt(f"name {raw!r} is not canonical")
        if text in seen:
            raise _corrupt(f"name {text!r} appears twice")
        seen.add(text)
        data.names.append(text)
    r.finish()

    r = _Reader(holders_p, "HOLD")
    for _ in range(r.count(2)):
        try:
            holder = r.take(r.count(1)).decode("utf-8")
        except UnicodeDecodeError:
            raise _corrupt("a lease holder is not UTF-8") from None
        if not 1 <= len(holder) <= 128 or holder in data.holders:
            raise _corrupt(f"holder {holder!r} is invalid or repeated")
        data.holders.append(holder)
    r.finish()

    r = _Reader(sets_p, "SETS")
    for _ in range(r.count(1)):
        leaves: list[Leaf] = []
        for _ in range(r.count(6)):
            family = r.byte()
            if family == 4:
                address = str(ipaddress.IPv4Address(r.take(4)))
            elif family == 6:
                address = str(ipaddress.IPv6Address(r.take(16)))
            else:
                raise _corrupt(f"address family {family}")
            leaves.append((address, r.byte()))
        try:
            canon = set_of(leaves)
        except ValueError as exc:
            raise _corrupt(str(exc)) from None
        if list(canon) != [set_of([leaf])[0] for leaf in leaves]:
            raise _corrupt("a target set is not sorted")
        data.sets.append(canon)
    r.finish()

    r = _Reader(plans_p, "PLAN")
    uses = [0] * len(data.sets)
    last = 0
    for _ in range(r.count(2)):
        generation = r.varint()
        if not 1 <= generation <= MAX_I63 or generation <= last:
            raise _corrupt(f"plan generation {generation} out of order or out of range")
        last = generation
        length = r.count(1)
        if not 1 <= length <= n:
            raise _corrupt(f"plan {generation} covers {length} endpoints of {n}")
        trees: list[int | None] = []
        for _ in range(length):
            t = r.varint()
            if t == 0:
                trees.append(None)
                continue
            if t - 1 >= len(data.sets):
                raise _corrupt(f"plan {generation}: set {t - 1} unknown")
            uses[t - 1] += 1
            trees.append(t - 1)
        if trees[-1] is None:
            raise _corrupt(f"plan {generation} ends without a tree")
        data.plans[generation] = trees
    r.finish()
    if any(u == 0 for u in uses):
        raise _corrupt("a target set no tree uses")

    r = _Reader(slots_p, "SLOT")
    if n > len(slots_p):
        raise _corrupt("SLOT section ends early")
    for _ in range(n):
        flags = r.byte()
        if flags >> 7:
            raise _corrupt(f"SLOT: flags {flags:#x}")
        values = []
        for bit in range(6):
            value = 0
            if flags & (1 << bit):
                value = r.varint()
                if value == 0:
                    raise _corrupt("SLOT: zero stored as set")
            values.append(value)
        alias, rollback, version, token, fence, holder_ref = values
        if alias > MAX_I63 or rollback > MAX_I63:
            raise _corrupt("SLOT: generation out of range")
        if version > MAX_I63 or token > fence or fence > MAX_I63:
            raise _corrupt("SLOT: version or token out of range")
        if holder_ref > len(data.holders):
            raise _corrupt(f"SLOT: holder {holder_ref} unknown")
        expiry = 0.0
        if flags & (1 << 6):
            (expiry,) = struct.unpack("<d", r.take(8))
            if math.isnan(expiry):
                raise _corrupt("SLOT: lease expiry is not a number")
        data.slots.append(SlotData(alias, rollback, version, token, fence, holder_ref, expiry))
    r.finish()

    r = _Reader(counters_p, "CNTR")
    data.counters = {name: r.varint() for name in COUNTER_NAMES}
    r.finish()
    return data
