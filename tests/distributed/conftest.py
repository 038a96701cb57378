"""One real two-node Ray cluster on 127.0.0.1 for this folder's tests, stopped when they end.

The cluster starts with the first test that asks for it and stops after the last test of this
folder (or at exit, whatever happened), so the rest of the suite runs without Ray's processes.
"""

from __future__ import annotations

import atexit
import contextlib

import pytest
from local_ray_cluster import LocalCluster, local_cluster

_running: dict[str, object] = {}


def _stop() -> None:
    stack = _running.pop("stack", None)
    _running.pop("cluster", None)
    if isinstance(stack, contextlib.ExitStack):
        stack.close()


atexit.register(_stop)


@pytest.fixture
def ray_cluster() -> LocalCluster:
    pytest.importorskip("ray", reason="Ray is an optional extra (pip install '.[ray]')")
    if "cluster" not in _running:
        stack = contextlib.ExitStack()
        _running["cluster"] = stack.enter_context(local_cluster())
        _running["stack"] = stack
    return _running["cluster"]  # type: ignore[return-value]


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    if nextitem is None or nextitem.path.parent != item.path.parent:
        _stop()
