"""The hand-encoded Txn pieces decode, with etcd's generated messages, to what they mean."""

from __future__ import annotations

import pytest

from dnsrace.backends.etcd import wire
from dnsrace.backends.etcd.client import rpc

KEYS = [b"k", b"/dnsrace/default/a/\x00\x00\x01\x02", b"x" * 130]
REVISIONS = [0, 1, 127, 128, 300, 16383, 16384, 2**21 - 1, 2**21, 2**40]


@pytest.mark.parametrize("key", KEYS)
def test_compares_and_puts_decode_to_what_they_say(key: bytes) -> None:
    for rev in REVISIONS:
        for result in (wire.EQUAL, wire.LESS):
            c = rpc.TxnRequest.FromString(wire.compare_mod(key, rev, result)).compare[0]
            assert (c.key, c.mod_revision, c.target, c.result) == (key, rev, 2, result)
    c = rpc.TxnRequest.FromString(wire.compare_value(key, b"\x00\x07", wire.LESS)).compare[0]
    assert (c.key, c.value, c.target, c.result) == (key, b"\x00\x07", 3, 2)
    for value in (b"", b"v" * 16, b"y" * 200):
        m = rpc.TxnRequest.FromString(wire.op_put(key, value) + wire.op_put(key, value, field=3))
        assert (m.success[0].request_put.key, m.success[0].request_put.value) == (key, value)
        assert m.failure[0].request_put.value == value


def test_nested_txns_decode() -> None:
    inner = wire.op_txn(wire.compare_mod(b"a", 5), wire.op_put(b"a", b"1"), field=3)
    m = rpc.TxnRequest.FromString(
        wire.txn(wire.compare_mod(b"b", 9), wire.op_put(b"b", b"2"), inner)
    )
    nested = m.failure[0].request_txn
    assert nested.compare[0].mod_revision == 5 and nested.success[0].request_put.key == b"a"
    assert m.compare[0].key == b"b" and m.success[0].request_put.value == b"2"


@pytest.mark.parametrize("key_len", [1, 4, 13, 15, 17, 37, 80, 100, 101, 120])
def test_record_formats_write_what_the_general_encoders_write(key_len: int) -> None:
    # Every key length, including those whose framing bytes are "%" (37) and those past the
    # one-byte framing (no format: the general encoders serve them).
    compare, put = wire.record_formats(key_len, 16)
    key, value = bytes(range(65, 65 + key_len % 26)).ljust(key_len, b"%"), b"%s\x00" * 5 + b"q"
    if compare is None:
        assert 8 + key_len + 16 >= 0x80
    else:
        assert compare % (key, value) == wire.compare_value(key, value, wire.EQUAL)
        c = rpc.TxnRequest.FromString(compare % (key, value)).compare[0]
        assert (c.key, c.value, c.target, c.result) == (key, value, 3, 0)
    if put is None:
        assert 4 + key_len + 16 + 2 >= 0x80
    else:
        assert put % (key, value) == wire.op_put(key, value)
