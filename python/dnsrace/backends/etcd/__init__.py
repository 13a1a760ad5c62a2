"""The record store on etcd v3: :class:`EtcdStore`, and local etcd members for tests and runs."""

from dnsrace.backends.etcd.store import EtcdStore, LeaseClock
from dnsrace.backends.etcd.url import EtcdUrl, parse_etcd_url

__all__ = ["EtcdStore", "EtcdUrl", "LeaseClock", "parse_etcd_url"]
