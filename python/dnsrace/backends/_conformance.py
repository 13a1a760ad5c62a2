"""Typing only: ``mypy --strict`` checks here that each store satisfies :class:`Store`, call for
call (a missing call or an incompatible signature is a type error). Never imported at run time."""

from __future__ import annotations

from dnsrace._core import RecordStore
from dnsrace.backends import Store
from dnsrace.backends.etcd import EtcdStore
from dnsrace.reference import PyRecordStore


def every_store(rust: RecordStore, reference: PyRecordStore, etcd: EtcdStore) -> list[Store]:
    return [rust, reference, etcd]
