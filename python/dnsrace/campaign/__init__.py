"""Campaigns: many independent jobs on local processes or on a Ray cluster, with results that do
not depend on where or in which order the jobs ran.

A campaign is a list of jobs (a block of exploration runs, one seed of a seed range, one point
of a sweep), each a call ``fn(*args)`` of a module-level function (so that it pickles by
reference) on picklable arguments, whose result depends on its arguments alone. The executor
only decides where each call runs:

* ``local`` (the default): the calling process when ``workers`` is 1, otherwise a pool of
  ``workers`` spawned processes on this machine;
* ``ray``: the tasks of a Ray cluster, either one that runs already (``address="HOST:PORT"``,
  the head's GCS port given to ``ray start --head --port PORT``) or a single-node instance
  started for the campaign and stopped after it. A task whose worker process or node dies is
  run again elsewhere (``max_retries`` times): a job is a pure function of its arguments, so
  running it twice cannot change the result.

Results are always merged in the order of the jobs, never in the order they arrive, so the same
jobs give the same results (and a command the same JSON bytes) whatever the executor and the
worker count.

Use::

    from dnsrace.campaign import open_campaign

    with open_campaign("ray", address="127.0.0.1:6379") as campaign:
        results = campaign.map(run_one_seed, [(scenario, seed) for seed in range(1, 101)])

``campaign.pool`` is a :class:`concurrent.futures.Executor` over the same workers (``None`` for a
one-worker local campaign, which runs everything in the calling process), for callers that
dispatch in rounds, as :func:`dnsrace.sim.explore.explore_preset` does.
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import multiprocessing
import os
import socket
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, TypeVar

from dnsrace.errors import DnsraceError

__all__ = [
    "DEFAULT_RETRIES",
    "EXECUTORS",
    "MAX_RETRIES",
    "MAX_WORKERS",
    "Campaign",
    "CampaignError",
    "LocalCampaign",
    "RayCampaign",
    "check_address",
    "open_campaign",
    "parse_address",
]

EXECUTORS: Final[tuple[str, ...]] = ("local", "ray")
DEFAULT_RETRIES: Final = 4
"""Times Ray runs a task again after its worker process or node died (Ray's own default is 3)."""
MAX_RETRIES: Final = 100
MAX_WORKERS: Final = 1024
CONNECT_TIMEOUT_S: Final = 5.0
"""How long a cluster address may take to accept a TCP connection before it counts as down."""

R = TypeVar("R")


class CampaignError(DnsraceError):
    """A campaign cannot start or finish: an unknown executor, a bad or unreachable cluster
    address, a cluster without CPUs, a missing ``ray`` package, or a job that failed on every
    try."""


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[V6]:PORT`` for an IPv6 host) as ``(host, port)``."""
    if len(text) > 300:
        raise CampaignError(f"cluster address: at most 300 characters, got {len(text)}")
    host, sep, port_text = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port_text.isdigit() or len(port_text) > 5:
        raise CampaignError(f"cluster address: expected HOST:PORT, got {text!r}")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise CampaignError(f"cluster address: port must be in 1..65535, got {port}")
    return host, port


def check_address(address: str) -> None:
    """Refuse (:class:`CampaignError`) an address that is not ``HOST:PORT`` or that does not
    accept a TCP connection within :data:`CONNECT_TIMEOUT_S`: a command checks it before any
    work, and ``ray.init`` would wait about a minute for an address that does not answer."""
    host, port = parse_address(address)
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise CampaignError(
            f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}"
        ) from None


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class Campaign:
    """Where the jobs of a campaign run. Use as a context manager (or call :meth:`close`)."""

    kind: str = ""
    workers: int = 1
    """Jobs that run at the same time (processes, or the cluster's CPUs)."""

    @property
    def pool(self) -> concurrent.futures.Executor | None:
        """An executor over the workers (``None``: run in the calling process)."""
        raise NotImplementedError

    def map(
        self,
        fn: Callable[..., R],
        jobs: Iterable[Sequence[Any]],
        done: Callable[[], None] | None = None,
    ) -> list[R]:
        """``[fn(*job) for job in jobs]``, run on the workers, in the order of ``jobs``.

        ``done`` (a progress bar's step) is called in the calling thread once per finished
        job, in the order they finish; the results still come in the order of ``jobs``."""
        pool = self.pool
        if pool is None:
            results = []
            for job in jobs:
                results.append(fn(*job))
                if done is not None:
                    done()
            return results
        futures = [pool.submit(fn, *job) for job in jobs]
        if done is not None:
            for _ in concurrent.futures.as_completed(futures):
                done()
        return [f.result() for f in futures]

    def close(self) -> None:
        """Stop the workers this campaign started (a running cluster is left running)."""

    def __enter__(self) -> Campaign:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LocalCampaign(Campaign):
    """The calling process (one worker) or a pool of spawned processes on this machine."""

    kind = "local"

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        if workers > 1:
            # spawn, not fork: the caller may hold threads (progress bars, the store's).
            self._pool = concurrent.futures.ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context("spawn")
            )

    @property
    def pool(self) -> concurrent.futures.Executor | None:
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _call(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The body of every Ray task: one job."""
    return fn(*args, **kwargs)


class _RayPool(concurrent.futures.Executor):
    """A :class:`concurrent.futures.Executor` whose calls are Ray tasks. A job's own exception
    comes back as itself (as from a local pool); a failure of the cluster that outlived the
    retries (a dead worker or node, a lost object) as a :class:`CampaignError`."""

    def __init__(self, ray: Any, remote: Any) -> None:
        self._ray = ray
        self._remote = remote

    def submit(
        self, fn: Callable[..., R], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[R]:
        done: concurrent.futures.Future[R] = concurrent.futures.Future()
        errors = self._ray.exceptions

        def settle(task: concurrent.futures.Future[R]) -> None:
            try:
                done.set_result(task.result())
            except errors.RayTaskError as exc:
                done.set_exception(exc.cause if exc.cause is not None else exc)
            except errors.RayError as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                done.set_exception(CampaignError(f"a campaign job failed on the cluster: {first}"))
            except BaseException as exc:  # cancelled, interrupted
                done.set_exception(exc)

        self._remote.remote(fn, args, kwargs).future().add_done_callback(settle)
        return done


class RayCampaign(Campaign):
    """Jobs as tasks of a Ray cluster, retried on other workers when theirs dies."""

    kind = "ray"

    def __init__(
        self,
        *,
        address: str | None = None,
        workers: int | None = None,
        max_retries: int = DEFAULT_RETRIES,
    ) -> None:
        if not 0 <= max_retries <= MAX_RETRIES:
            raise CampaignError(f"max_retries: must be in 0..{MAX_RETRIES}, got {max_retries}")
        if address is not None:
            check_address(address)
        try:
            import ray
        except ImportError:
            raise CampaignError(
                "the ray executor needs the 'cluster' extra (ray is not installed): "
                "pip install 'dnsrace[cluster]'"
            ) from None
        self._ray = ray
        if ray.is_initialized():
            raise CampaignError("a Ray campaign is already open in this process")
        options: dict[str, Any] = {
            "log_to_driver": False,
            "logging_level": "warning",
            "configure_logging": False,
        }
        try:
            if address is None:
                ray.init(
                    num_cpus=workers or os.cpu_count() or 1, include_dashboard=False, **options
                )
            else:
                host, _ = parse_address(address)
                if _is_loopback(host):
                    # The head runs on this machine at that address: attach to its raylet,
                    # not to another node's that shares the machine (Ray's guess would be
                    # the machine's outside address).
                    options["_node_ip_address"] = host
                ray.init(address=address, **options)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise CampaignError(f"cannot start the Ray campaign: {exc}") from None
        try:
            cpus = int(ray.cluster_resources().get("CPU", 0))
            if cpus < 1:
                raise CampaignError("the Ray cluster has no CPU to run jobs on")
            self.workers = min(workers, MAX_WORKERS) if workers else min(cpus, MAX_WORKERS)
            # Only failures of the system (a dead worker process or node) are retried: an
            # exception the job raises would be raised again, since the job is deterministic.
            remote = ray.remote(_call).options(
                num_cpus=1, max_retries=max_retries, retry_exceptions=False
            )
        except BaseException:
            ray.shutdown()
            raise
        self._pool: _RayPool | None = _RayPool(ray, remote)

    @property
    def pool(self) -> concurrent.futures.Executor | None:
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool = None
            # Disconnects from a running cluster; stops the instance started for us.
            self._ray.shutdown()


def open_campaign(
    executor: str = "local",
    *,
    workers: int | None = None,
    address: str | None = None,
    max_retries: int = DEFAULT_RETRIES,
) -> Campaign:
    """A campaign on ``executor`` (one of :data:`EXECUTORS`).

    ``workers``: jobs at the same time (local: processes, default one per core; ray: at most
    that many, default the cluster's CPUs). ``address``: a running Ray cluster (ray only;
    without it a one-node Ray instance is started for the campaign). ``max_retries``: runs of a
    Ray task again after its worker died.
    """
    if executor not in EXECUTORS:
        raise CampaignError(f"executor: one of {', '.join(EXECUTORS)}, got {executor!r}")
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        raise CampaignError(f"workers: must be in 1..{MAX_WORKERS}, got {workers}")
    if executor == "local":
        if address is not None:
            raise CampaignError("a cluster address needs the ray executor")
        return LocalCampaign(workers or os.cpu_count() or 1)
    return RayCampaign(address=address, workers=workers, max_retries=max_retries)
