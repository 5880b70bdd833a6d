"""Which machine a benchmark ran on, printed with every table: a number without it means little."""

from __future__ import annotations

import os
import platform
import resource


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def describe() -> str:
    try:
        import torch
    except ImportError:  # the lean install: the monitor runs without it
        threads = "no torch"
    else:
        threads = f"torch {torch.__version__} ({torch.get_num_threads()} threads)"
    return (
        f"{cpu_model()}, {usable_cores()} usable core(s), {threads}, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
