"""Ray stays optional: the package imports without it, and asking for it names the extra."""

from __future__ import annotations

import subprocess
import sys

import pytest

from instructmining.distributed.options import executor_from_options, indicator_runner
from instructmining.errors import UserError
from instructmining.indicators import run_indicators

WITHOUT_RAY = """
import sys
sys.modules["ray"] = None  # as if Ray were not installed: `import ray` raises ImportError
import instructmining.cli, instructmining.distributed
import instructmining.distributed.options, instructmining.distributed.ray_executor
import instructmining.distributed.ray_indicators
from instructmining.cli import main
sys.exit(main(["--help"]))
"""


def test_package_and_cli_import_without_ray() -> None:
    proc = subprocess.run([sys.executable, "-c", WITHOUT_RAY], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_ray_executor_without_ray_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    for make in (executor_from_options, indicator_runner):
        with pytest.raises(UserError, match=r"pip install 'instructmining\[ray\]'"):
            make("ray", None)


def test_options_are_checked() -> None:
    assert type(executor_from_options("local")).__name__ in ("LocalExecutor", "GpuPoolExecutor")
    assert indicator_runner("local") is run_indicators
    with pytest.raises(UserError, match="`executor` must be one of local, ray"):
        executor_from_options("slurm")
    with pytest.raises(UserError, match="`ray_address` needs `executor` ray"):
        indicator_runner("local", "auto")
