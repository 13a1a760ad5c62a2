"""``etcd://HOST:PORT[,HOST:PORT...][/NAMESPACE]``: where a cluster is and which keys are ours."""

from __future__ import annotations

import re
from dataclasses import dataclass

from dnsrace.errors import InvalidArgument

__all__ = ["EtcdUrl", "parse_etcd_url"]

_HOST = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)$")
_NAMESPACE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True)
class EtcdUrl:
    """A parsed cluster address: client endpoints and the key namespace of one store."""

    endpoints: tuple[str, ...]
    """``host:port`` of each member, in the order given (the client fails over in order)."""
    namespace: str
    """Every key of the store lives under ``/dnsrace/<namespace>/``."""

    def __str__(self) -> str:
        return f"etcd://{','.join(self.endpoints)}/{self.namespace}"


def parse_etcd_url(url: str, *, default_namespace: str = "default") -> EtcdUrl:
    """Parse ``etcd://HOST:PORT[,HOST:PORT...][/NAMESPACE]``; ``InvalidArgument`` says what is
    wrong with a malformed one."""
    if not isinstance(url, str):
        raise InvalidArgument(f"invalid etcd URL {url!r}: must be a string")
    if not url.startswith("etcd://"):
        raise InvalidArgument(f"invalid etcd URL {url!r}: must start with etcd://")
    rest = url[len("etcd://") :]
    hosts, _, namespace = rest.partition("/")
    namespace = namespace or default_namespace
    if not _NAMESPACE.match(namespace):
        raise InvalidArgument(
            f"invalid etcd URL {url!r}: namespace {namespace!r} must be 1..64 letters, "
            "digits, '_', '.' or '-'"
        )
    if not hosts:
        raise InvalidArgument(f"invalid etcd URL {url!r}: no HOST:PORT")
    endpoints: list[str] = []
    for part in hosts.split(","):
        host, sep, port = part.rpartition(":")
        if not sep or not host or not _HOST.match(host):
            raise InvalidArgument(f"invalid etcd URL {url!r}: {part!r} is not HOST:PORT")
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise InvalidArgument(f"invalid etcd URL {url!r}: port {port!r} is not in 1..65535")
        endpoints.append(f"{host}:{int(port)}")
    if len(set(endpoints)) != len(endpoints):
        raise InvalidArgument(f"invalid etcd URL {url!r}: a member is listed twice")
    return EtcdUrl(tuple(endpoints), namespace)
