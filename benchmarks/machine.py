"""The line every benchmark table carries, so tables from different machines read side by side."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo (the platform's processor string elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_line() -> str:
    """CPU model, cores (usable by this process / on the machine), torch threads, native bf16."""
    import torch

    from instructmining.models.loader import cpu_has_bf16
    from instructmining.threads import usable_cpus

    return (
        f"machine: {cpu_model()}; {usable_cpus()} usable of {os.cpu_count()} CPUs; "
        f"torch {torch.__version__} with {torch.get_num_threads()} threads; "
        f"native bf16 {'yes' if cpu_has_bf16() else 'no (runs in fp32)'}; "
        f"load average {os.getloadavg()[0]:.1f} at the end"
    )
