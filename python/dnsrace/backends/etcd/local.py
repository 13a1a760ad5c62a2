"""Real etcd members on loopback, for tests, benchmarks and trying things out.

:class:`LocalCluster` starts ``etcd`` (Debian's ``etcd-server``) as 1 or 3 members on free
loopback ports, with data under a temporary directory, waits until a client can use it, and
stops every member by PID. Members can be killed (``SIGKILL``), paused (``SIGSTOP``),
restarted and, where network namespaces work, cut off from the others.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from dnsrace._children import reap
from dnsrace.errors import StoreUnavailable

__all__ = ["ETCD_BINARY", "LocalCluster", "Member", "etcd_binary", "netns_unavailable"]

ETCD_BINARY = "etcd"


def etcd_binary() -> str | None:
    """Path of the etcd server, or None (``make`` installs Debian's ``etcd-server``)."""
    return shutil.which(os.environ.get("DNSRACE_ETCD", ETCD_BINARY))


def netns_unavailable() -> str | None:
    """Why members cannot run in network namespaces here (None: they can)."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is missing"
    probe = f"drprobe{os.getpid() % 100000}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True)
    if made.returncode != 0:
        return f"ip netns add failed: {made.stderr.decode(errors='replace').strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True)
    if done.returncode != 0:
        raise StoreUnavailable(
            f"ip {' '.join(args)}: {done.stderr.decode(errors='replace').strip()}"
        )


def _free_ports(count: int) -> list[int]:
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@dataclass
class Member:
    name: str
    client_port: int
    peer_port: int
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    host: str = "127.0.0.1"
    netns: str | None = None
    """The member's network namespace (its own address behind a bridge), if any."""
    link: str | None = None
    """The bridge side of its veth pair: down = cut off from everyone."""

    @property
    def client_url(self) -> str:
        return f"{self.host}:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://{self.host}:{self.peer_port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None


@dataclass
class LocalCluster:
    """``size`` etcd members on loopback. Use as a context manager.

    ``netns=True`` runs each member in a network namespace of its own, joined to the others by
    a bridge (root only; see :func:`netns_unavailable`), so that :meth:`isolate` can cut one
    member off the network while it keeps running.
    """

    size: int = 1
    netns: bool = False
    max_txn_ops: int = 1024
    quota_bytes: int = 8 * 1024**3
    extra_args: tuple[str, ...] = ()
    """More etcd flags for every member (benchmarks try server settings with them)."""
    root: Path | None = None
    members: list[Member] = field(default_factory=list)
    _tmp: tempfile.TemporaryDirectory[str] | None = None

    def __post_init__(self) -> None:
        if self.size not in (1, 3, 5):
            raise ValueError("a local cluster has 1, 3 or 5 members")
        if self.root is None:
            # Memory-backed where there is one: etcd fsyncs every write, and the members
            # here are for tests and figures, not for keeping data.
            shm = Path("/dev/shm")
            base = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
            self._tmp = tempfile.TemporaryDirectory(prefix="dnsrace-etcd-", dir=base)
            self.root = Path(self._tmp.name)
        ports = _free_ports(2 * self.size)
        for k in range(self.size):
            d = self.root / f"m{k}"
            d.mkdir(parents=True, exist_ok=True)
            self.members.append(
                Member(f"m{k}", ports[2 * k], ports[2 * k + 1], d / "data", d / "etcd.log")
            )
        self._bridge: str | None = None
        if self.netns:
            self._make_network()

    def _make_network(self) -> None:
        reason = netns_unavailable()
        if reason is not None:
            raise StoreUnavailable(f"cannot isolate members: {reason}")
        tag = f"{os.getpid() % 4096:x}{self.members[0].peer_port % 256:02x}"
        net = f"10.{200 + os.getpid() % 50}.{self.members[0].peer_port % 250}"
        self._bridge = f"drb{tag}"
        _ip("link", "add", self._bridge, "type", "bridge")
        _ip("addr", "add", f"{net}.1/24", "dev", self._bridge)
        _ip("link", "set", self._bridge, "up")
        for k, m in enumerate(self.members):
            m.netns, m.link, inner = f"dr{tag}m{k}", f"dr{tag}h{k}", f"dr{tag}p{k}"
            m.host = f"{net}.{k + 2}"
            _ip("netns", "add", m.netns)
            _ip("link", "add", m.link, "type", "veth", "peer", "name", inner)
            _ip("link", "set", inner, "netns", m.netns)
            _ip("-n", m.netns, "addr", "add", f"{m.host}/24", "dev", inner)
            _ip("-n", m.netns, "link", "set", inner, "up")
            _ip("-n", m.netns, "link", "set", "lo", "up")
            _ip("link", "set", m.link, "master", self._bridge)
            _ip("link", "set", m.link, "up")

    def _drop_network(self) -> None:
        for m in self.members:
            if m.link is not None:
                subprocess.run(["ip", "link", "del", m.link], capture_output=True)
            if m.netns is not None:
                subprocess.run(["ip", "netns", "del", m.netns], capture_output=True)
        if self._bridge is not None:
            subprocess.run(["ip", "link", "del", self._bridge], capture_output=True)
            self._bridge = None

    def isolate(self, k: int) -> None:
        """Cut member ``k`` off from the other members and from every client."""
        m = self.members[k]
        if m.link is None:
            raise StoreUnavailable("isolate() needs a cluster made with netns=True")
        _ip("link", "set", m.link, "down")

    def heal(self, k: int) -> None:
        m = self.members[k]
        if m.link is not None:
            _ip("link", "set", m.link, "up")

    @property
    def url(self) -> str:
        return "etcd://" + ",".join(m.client_url for m in self.members)

    def _command(self, m: Member, state: str) -> list[str]:
        binary = etcd_binary()
        if binary is None:
            raise StoreUnavailable(
                "the etcd server is not installed (Debian: apt-get install etcd-server; "
                "`make test` installs it)"
            )
        cluster = ",".join(f"{x.name}={x.peer_url}" for x in self.members)
        inside = ["ip", "netns", "exec", m.netns] if m.netns is not None else []
        return [
            *inside,
            binary,
            "--name",
            m.name,
            "--data-dir",
            str(m.data_dir),
            "--listen-client-urls",
            f"http://{m.client_url}",
            "--advertise-client-urls",
            f"http://{m.client_url}",
            "--listen-peer-urls",
            m.peer_url,
            "--initial-advertise-peer-urls",
            m.peer_url,
            "--initial-cluster",
            cluster,
            "--initial-cluster-state",
            state,
            "--initial-cluster-token",
            f"dnsrace-{self.members[0].peer_port}",
            "--max-txn-ops",
            str(self.max_txn_ops),
            "--quota-backend-bytes",
            str(self.quota_bytes),
            # A cluster on one loopback: short timings so that failover tests stay short.
            "--heartbeat-interval",
            "50",
            "--election-timeout",
            "500",
            "--logger",
            "zap",
            "--log-outputs",
            "stderr",
            *self.extra_args,
        ]

    def _spawn(self, m: Member, state: str) -> None:
        log = open(m.log_path, "ab")  # noqa: SIM115 - handed to the child, closed with it
        m.process = subprocess.Popen(
            self._command(m, state),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()

    def start(self, timeout_s: float = 30.0) -> LocalCluster:
        for m in self.members:
            self._spawn(m, "new")
        self.wait_ready(timeout_s)
        return self

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        """Until a Txn goes through (a leader exists), or ``StoreUnavailable``."""
        from dnsrace.backends.etcd.client import EtcdClient, rpc

        deadline = time.monotonic() + timeout_s
        last = ""
        while time.monotonic() < deadline:
            for m in self.members:
                if m.process is not None and m.process.poll() is not None:
                    raise StoreUnavailable(
                        f"etcd member {m.name} exited with {m.process.returncode}: "
                        f"{self.log_tail(m)}"
                    )
            try:
                client = EtcdClient(
                    [m.client_url for m in self.members if m.process is not None],
                    timeout_s=2.0,
                    connect_timeout_s=1.0,
                )
                try:
                    client.txn(rpc.TxnRequest(), idempotent=True)
                    return
                finally:
                    client.close()
            except StoreUnavailable as exc:
                last = str(exc)
            time.sleep(0.1)
        raise StoreUnavailable(f"local etcd did not become ready in {timeout_s:g} s: {last}")

    def log_tail(self, m: Member, lines: int = 5) -> str:
        try:
            return " | ".join(m.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # ------------------------------------------------------------------ failures

    def kill(self, k: int) -> None:
        """``SIGKILL`` member ``k`` (its data stays, for :meth:`restart`)."""
        m = self.members[k]
        if m.process is not None:
            m.process.kill()
            m.process.wait()
            m.process = None

    def restart(self, k: int) -> None:
        m = self.members[k]
        if m.process is None:
            self._spawn(m, "existing")

    def pause(self, k: int) -> None:
        m = self.members[k]
        if m.process is not None:
            os.kill(m.process.pid, signal.SIGSTOP)

    def resume(self, k: int) -> None:
        m = self.members[k]
        if m.process is not None:
            os.kill(m.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        for m in self.members:
            if m.process is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(m.process.pid, signal.SIGCONT)
                m.process.terminate()
                reap(m.process, 10)
                m.process = None
        self._drop_network()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
