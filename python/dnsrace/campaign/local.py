"""A Ray cluster on this machine, as real separate processes: a head node and worker nodes, each
started by ``ray start --block`` in its own process group, on loopback, with small resources,
free ports and its own temporary directory. For tests and benchmarks of campaigns
(``tests/integration/processes/test_ray_campaign.py``, ``bench/campaign.py``); a real cluster
is started the same way on each of its machines.

``kill_node(i)`` sends SIGKILL to a worker node's whole process group (its raylet, its object
store and the worker processes running tasks): a machine that dies, not a clean shutdown.
Nothing here stops a Ray process it did not start (no ``ray stop``, which stops every Ray
process of the machine).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Final

__all__ = ["LocalRayCluster", "ray_command"]

START_TIMEOUT_S: Final = 90.0
FIRST_NODE_IP: Final = 2
"""Node ``i`` listens on ``127.0.0.{FIRST_NODE_IP + i}``: Ray replaces 127.0.0.1 (and only
it) by the machine's outside address, and a node of its own address per node is what a
driver needs to tell the head's raylet from a worker's."""
OBJECT_STORE_BYTES: Final = 100 * 1024 * 1024
# Dead nodes are noticed after about 1.5 s instead of Ray's default 15 s or more.
SYSTEM_CONFIG: Final = {
    "health_check_initial_delay_ms": 0,
    "health_check_period_ms": 500,
    "health_check_timeout_ms": 500,
    "health_check_failure_threshold": 3,
}
# Ports of one node besides the head's GCS port, each given explicitly so that two clusters on
# one machine (parallel test workers, another user) never meet on Ray's fixed defaults.
_NODE_PORTS: Final = (
    "--node-manager-port",
    "--object-manager-port",
    "--dashboard-agent-grpc-port",
    "--dashboard-agent-listen-port",
    "--metrics-export-port",
    "--runtime-env-agent-port",
)
_WORKER_PORTS: Final = 24
"""Ports per node for its worker processes (each needs one; a node runs a few)."""


def ray_command() -> str | None:
    """The ``ray`` command of this interpreter's environment (None: Ray is not installed)."""
    beside = Path(sys.executable).with_name("ray")
    if beside.exists():
        return str(beside)
    return shutil.which("ray")


def _free_ports(count: int) -> list[int]:
    """Ports free now (bound and released together, so all distinct)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("", 0))  # every address: free for the loopback addresses of all nodes
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _free_range(size: int) -> int:
    """The first of ``size`` consecutive ports free now."""
    for _ in range(200):
        first = _free_ports(1)[0]
        if first + size > 65535:
            continue
        try:
            held = []
            for port in range(first, first + size):
                s = socket.socket()
                held.append(s)
                s.bind(("", port))
            return first
        except OSError:
            continue
        finally:
            for s in held:
                s.close()
    raise RuntimeError("no range of free loopback ports for Ray's workers")


START_ATTEMPTS: Final = 2
"""Starts of the whole cluster before a node that exits while starting is an error."""


class _NodeExited(RuntimeError):
    """A node's ``ray start`` process ended before the cluster was up."""


class LocalRayCluster:
    """A head node with ``head_cpus`` CPUs and one worker node per entry of ``worker_cpus``."""

    def __init__(self, *, head_cpus: int = 1, worker_cpus: tuple[int, ...] = (1,)) -> None:
        command = ray_command()
        if command is None:
            raise RuntimeError("ray is not installed (pip install 'dnsrace[cluster]')")
        self._ray = command
        # Short: Ray's Unix sockets live under it and a socket path has at most 107 bytes.
        self.temp_dir = Path(tempfile.mkdtemp(prefix="dnsray-", dir="/tmp"))
        self.port = 0
        self.address = ""
        # Token authentication with a token of this cluster's own: Ray otherwise decides by
        # whether ~/.ray/auth_token exists (a head enables it, a joining node may not) and
        # every cluster of the machine would share that one file.
        token = self.temp_dir / "auth_token"
        token.write_text(secrets.token_hex(32))
        token.chmod(0o600)
        self.auth_env = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token)}
        """What a driver's environment needs to join (``open_campaign("ray", address=...)``)."""
        self.env = {
            **os.environ,
            **self.auth_env,
            "RAY_USAGE_STATS_ENABLED": "0",
            # Logs to files under temp_dir only; the test's output stays readable.
            "RAY_LOG_TO_STDERR": "0",
        }
        self.nodes: list[subprocess.Popen[bytes]] = []
        self.expected_cpus = head_cpus + sum(worker_cpus)
        try:
            for attempt in range(1, START_ATTEMPTS + 1):
                try:
                    self._start_nodes(head_cpus, worker_cpus)
                    break
                except _NodeExited:
                    # `ray start` gives a node a fixed 30 s to register with the head, which a
                    # machine loaded many times over its cores can miss: start again, on
                    # fresh ports.
                    if attempt == START_ATTEMPTS:
                        raise
                    self._kill_nodes()
        except BaseException:
            self.close()
            raise

    def _start_nodes(self, head_cpus: int, worker_cpus: tuple[int, ...]) -> None:
        self.port = _free_ports(1)[0]
        self.address = f"{self.node_ip(0)}:{self.port}"
        self._start(head=True, cpus=head_cpus)
        self._wait_for_port()
        for cpus in worker_cpus:
            self._start(head=False, cpus=cpus)
        self._wait_for_cpus(self.expected_cpus)

    @staticmethod
    def node_ip(index: int) -> str:
        """The loopback address of node ``index`` (0: the head)."""
        return f"127.0.0.{FIRST_NODE_IP + index}"

    def _start(self, *, head: bool, cpus: int) -> None:
        ports = _free_ports(len(_NODE_PORTS) + (2 if head else 0))
        argv = [self._ray, "start", "--block", "--disable-usage-stats"]
        ip = self.node_ip(len(self.nodes))
        argv += [f"--node-ip-address={ip}", f"--num-cpus={cpus}", "--num-gpus=0"]
        argv += [f"--object-store-memory={OBJECT_STORE_BYTES}", "--include-log-monitor=false"]
        if head:
            argv += ["--head", f"--port={self.port}", "--include-dashboard=false"]
            argv += [f"--temp-dir={self.temp_dir}", f"--ray-client-server-port={ports.pop()}"]
            # Not started (no dashboard), but its port is still claimed: not Ray's fixed 8265.
            argv += [f"--dashboard-port={ports.pop()}"]
            argv += ["--system-config", json.dumps(SYSTEM_CONFIG)]
        else:
            argv += [f"--address={self.address}"]
        argv += [f"{flag}={port}" for flag, port in zip(_NODE_PORTS, ports, strict=True)]
        first = _free_range(_WORKER_PORTS)
        argv += [f"--min-worker-port={first}", f"--max-worker-port={first + _WORKER_PORTS - 1}"]
        log = (self.temp_dir / f"node-{len(self.nodes)}.log").open("wb")
        try:
            node = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,  # its own process group: killed as one machine
            )
        finally:
            log.close()
        self.nodes.append(node)

    def _cpus(self) -> int:
        """CPUs of the nodes alive, as the head's GCS reports them (`ray status` would need
        the dashboard)."""
        probe = (
            "import ray,sys;"
            f"ray.init(address={self.address!r},log_to_driver=False,logging_level='error');"
            "sys.stdout.write(str(int(ray.cluster_resources().get('CPU',0))))"
        )
        out = subprocess.run(
            [sys.executable, "-c", probe],
            capture_output=True,
            env=self.env,
            timeout=START_TIMEOUT_S,
            check=False,
        )
        text = out.stdout.decode().strip()
        return int(text) if text.isdigit() else 0

    def _check_alive(self) -> None:
        for i, node in enumerate(self.nodes):
            if node.poll() is not None:
                log = (self.temp_dir / f"node-{i}.log").read_text(errors="replace")
                raise _NodeExited(f"ray node {i} exited ({node.returncode}):\n{log[-2000:]}")

    def _wait_for_port(self) -> None:
        """Until the head's GCS accepts connections (worker nodes need it to join)."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                socket.create_connection((self.node_ip(0), self.port), timeout=1.0).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"the Ray head did not listen on {self.address} in {START_TIMEOUT_S} s")

    def _wait_for_cpus(self, cpus: int) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            self._check_alive()
            if self._cpus() >= cpus:
                return
            time.sleep(0.5)
        raise RuntimeError(f"the Ray cluster did not reach {cpus} CPUs in {START_TIMEOUT_S} s")

    def node_processes(self, index: int) -> list[tuple[int, str]]:
        """(pid, command line) of every live process of node ``index``: its ``ray start``
        process group and every descendant (Ray's worker processes lead groups of their
        own)."""
        root = self.nodes[index].pid
        parents: dict[int, int] = {}
        groups: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid pgrp ...: comm may hold spaces, so split after its ")".
            fields = stat[stat.rindex(")") + 2 :].split()
            parents[int(entry.name)] = int(fields[1])
            groups[int(entry.name)] = int(fields[2])
        members = {pid for pid, group in groups.items() if group == root}
        changed = True
        while changed:
            grown = {pid for pid, parent in parents.items() if parent in members} - members
            changed = bool(grown)
            members |= grown
        found = []
        for pid in sorted(members):
            try:
                raw = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            found.append((pid, raw.replace(b"\0", b" ").decode(errors="replace")))
        return found

    def kill_node(self, index: int) -> None:
        """SIGKILL every process of node ``index`` at once (index 0 is the head): its process
        group and its descendants, found before the first signal (once the raylet is dead its
        workers belong to init and could no longer be told apart)."""
        node = self.nodes[index]
        for pid, _ in self.node_processes(index):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(node.pid, signal.SIGKILL)
        node.wait()

    def close(self) -> None:
        """Kill every node (workers first, then the head) and remove the temporary directory.
        SIGKILL at once: a node keeps nothing worth a clean shutdown, and Ray's own takes
        seconds per node on a loaded machine."""
        self._kill_nodes()
        shutil.rmtree(self.temp_dir, ignore_errors=True)

    def _kill_nodes(self) -> None:
        for index in reversed(range(len(self.nodes))):
            self.kill_node(index)
        self.nodes = []

    def __enter__(self) -> LocalRayCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
