"""A real two-node Ray cluster on 127.0.0.1, started and stopped by the tests themselves.

Both nodes are started with `ray start` in a new process session of their own, so stopping kills
exactly the processes of those sessions (never every Ray process of the machine, as `ray stop`
would). Ray
replaces 127.0.0.1 by the machine's outward address when it picks a node address; the settings
below keep every socket of the cluster, and of the driver, on loopback.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

RAY = str(Path(sys.executable).with_name("ray"))
OBJECT_STORE = str(150 * 1024 * 1024)
# A worker node started with this wrapper keeps 127.0.0.1 as its own and its head's address.
_WORKER_NODE = """
import sys
import ray._private.services as services
services.node_ip_address_from_perspective = lambda *args, **kwargs: "127.0.0.1"
from ray.scripts.scripts import main
sys.argv = ["ray", *sys.argv[1:]]
main()
"""


@dataclass
class LocalCluster:
    """A running test cluster: its address and the sessions its nodes were started in.

    Ray gives each worker process a process group of its own, but every process of a node stays
    in the session its `ray start` opened: the session ids name this cluster's processes.
    """

    address: str
    sessions: list[int]

    def processes(self, title: str = "") -> list[int]:
        """Pids of this cluster's processes whose title contains `title` (e.g. an actor class)."""
        found = []
        for entry in Path("/proc").iterdir():
            try:
                pid = int(entry.name)
                cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
                session = os.getsid(pid)
            except (ValueError, OSError):
                continue
            if session in self.sessions and title in cmdline:
                found.append(pid)
        return sorted(found)

    def kill(self) -> None:
        """SIGKILL every process of the cluster."""
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(args: list[str], env: dict[str, str], sessions: list[int]) -> None:
    """Run one `ray start` in a new session, whose id (its pid) is noted for teardown."""
    proc = subprocess.Popen(
        args, env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    sessions.append(proc.pid)  # the session outlives `ray start`, which exits once nodes are up
    out, _ = proc.communicate(timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])} failed:\n{out.decode(errors='replace')}")


def _wait_for_nodes(ray: ModuleType, address: str, count: int, timeout: float = 60) -> None:
    ray.init(address=address, log_to_driver=False, configure_logging=False)
    deadline = time.monotonic() + timeout
    while sum(n["Alive"] for n in ray.nodes()) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the Ray cluster at {address} did not reach {count} nodes")
        time.sleep(0.5)


@contextlib.contextmanager
def local_cluster(cpus_per_node: int = 1) -> Iterator[LocalCluster]:
    """A head node plus one worker node; this process is connected as the driver."""
    import ray

    temp_dir = tempfile.mkdtemp(prefix="imray-", dir="/tmp")  # Ray's socket paths must be short
    port = _free_port()
    address = f"127.0.0.1:{port}"
    common = [f"--num-cpus={cpus_per_node}", f"--object-store-memory={OBJECT_STORE}"]
    common += ["--disable-usage-stats", "--node-ip-address=127.0.0.1", f"--temp-dir={temp_dir}"]
    cluster = LocalCluster(address, sessions=[])
    constants = ray._private.ray_constants
    saved = constants.ENABLE_RAY_CLUSTER
    try:
        head = [RAY, "start", "--head", f"--port={port}", "--include-dashboard=false", *common]
        _start(head, dict(os.environ, RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0"), cluster.sessions)
        worker = [sys.executable, "-c", _WORKER_NODE, "start", f"--address={address}", *common]
        _start(worker, dict(os.environ), cluster.sessions)
        constants.ENABLE_RAY_CLUSTER = False  # the driver too keeps 127.0.0.1 as its address
        _wait_for_nodes(ray, address, 2)
        yield cluster
    finally:
        if ray.is_initialized():
            ray.shutdown()
        constants.ENABLE_RAY_CLUSTER = saved
        cluster.kill()
        shutil.rmtree(temp_dir, ignore_errors=True)
