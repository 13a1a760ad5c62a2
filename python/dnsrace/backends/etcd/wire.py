"""Hand-encoded etcd v3 Txn requests, for the batch paths.

A batch flip builds hundreds of thousands of compares and puts; building them as protobuf
message objects cost more than etcd's work on them. These functions write the same wire
format (protobuf: tag, length, bytes) directly, so a batch is a join of byte strings. The
field numbers are those of etcd's ``rpc.proto``; a test decodes what they build with the
generated messages and compares.
"""

from __future__ import annotations

__all__ = [
    "compare_mod",
    "compare_value",
    "op_put",
    "op_txn",
    "record_formats",
    "txn",
]

# Compare.CompareResult and Compare.CompareTarget
EQUAL, GREATER, LESS, NOT_EQUAL = 0, 1, 2, 3
VERSION, CREATE, MOD, VALUE = 0, 1, 2, 3


_SMALL = [bytes((n,)) for n in range(0x80)]


def _varint(n: int) -> bytes:
    if n < 0x80:
        return _SMALL[n]
    if n < 0x4000:
        return bytes((n & 0x7F | 0x80, n >> 7))
    if n < 0x200000:
        return bytes((n & 0x7F | 0x80, (n >> 7) & 0x7F | 0x80, n >> 14))
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _len_field(number: int, data: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def compare_mod(key: bytes, revision: int, result: int = EQUAL) -> bytes:
    """A ``Txn.compare`` entry (field 1): ``mod_revision(key) <result> revision``."""
    rev = _varint(revision)
    size = 7 + len(key) + len(rev)
    if size < 0x80:  # the usual case, without the general framing
        return b"\x0a%c\x08%c\x10\x02\x1a%c%s0%s" % (size, result, len(key), key, rev)
    body = b"\x08" + _varint(result) + b"\x10\x02" + _len_field(3, key) + b"\x30" + rev
    return _len_field(1, body)


def compare_value(key: bytes, value: bytes, result: int) -> bytes:
    """A ``Txn.compare`` entry (field 1): ``value(key) <result> value``."""
    size = 8 + len(key) + len(value)
    if size < 0x80:  # the usual case, without the general framing
        return b"\x0a%c\x08%c\x10\x03\x1a%c%s\x3a%c%s" % (
            size,
            result,
            len(key),
            key,
            len(value),
            value,
        )
    body = b"\x08" + _varint(result) + b"\x10\x03" + _len_field(3, key) + _len_field(7, value)
    return _len_field(1, body)


def op_put(key: bytes, value: bytes, field: int = 2) -> bytes:
    """A ``RequestOp`` carrying a put, as a ``Txn.success`` (2) or ``failure`` (3) entry."""
    put_size = 4 + len(key) + len(value)
    if put_size + 2 < 0x80:  # the usual case, without the general framing
        return b"%c%c\x12%c\x0a%c%s\x12%c%s" % (
            field << 3 | 2,
            put_size + 2,
            put_size,
            len(key),
            key,
            len(value),
            value,
        )
    put = _len_field(1, key) + _len_field(2, value)
    return _len_field(field, _len_field(2, put))


def op_txn(compares: bytes, success: bytes, field: int = 2) -> bytes:
    """A ``RequestOp`` carrying a nested Txn (its compare and success entries, already
    encoded), as a ``Txn.success`` (2) or ``failure`` (3) entry."""
    return _len_field(field, _len_field(4, compares + success))


def txn(*parts: bytes) -> bytes:
    """A ``TxnRequest``: the concatenation of its encoded entries."""
    return b"".join(parts)


def record_formats(key_len: int, value_len: int) -> tuple[bytes | None, bytes | None]:
    """``value(key) == value`` compare and put entries for keys and values of fixed lengths, as
    byte formats taking ``(key, value)``: the output of :func:`compare_value` (EQUAL) and
    :func:`op_put` with the framing computed once. ``None`` where the sizes need the general
    framing."""
    compare_size = 8 + key_len + value_len
    compare = None
    if compare_size < 0x80 and value_len < 0x80:
        head = bytes((0x0A, compare_size, 0x08, EQUAL, 0x10, VALUE, 0x1A, key_len))
        compare = head.replace(b"%", b"%%") + b"%s\x3a" + bytes((value_len,)) + b"%s"
    put_size = 4 + key_len + value_len
    put = None
    if put_size + 2 < 0x80:
        head = bytes((2 << 3 | 2, put_size + 2, 0x12, put_size, 0x0A, key_len))
        put = head.replace(b"%", b"%%") + b"%s\x12" + bytes((value_len,)) + b"%s"
    return compare, put
