"""What a new user pays before the first alert: the README's install in a fresh venv (its size,
and that torch stays out), `listenpost --help` cold start, and `poll --once` with the shipped
settings on a machine that reaches no network (every source fails, polled side by side).

    python bench/install.py [--runs 10]

Takes a few minutes: it really installs listenpost (non-editable, as pipx would) into a
temporary venv from the package registry.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import describe  # noqa: E402


def size_mb(path: Path) -> float:
    files = (f for f in path.rglob("*") if f.is_file() and not f.is_symlink())
    return sum(f.stat().st_size for f in files) / 1e6


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, timeout=600)
    return time.perf_counter() - start, done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="--help runs to time")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lp-install-"))
    try:
        venv = work / "venv"
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "pip"), "install", "-q"]
        subprocess.run([*pip, str(ROOT)], check=True, capture_output=True)
        install_s = time.perf_counter() - start
        torch = subprocess.run([str(venv / "bin" / "pip"), "show", "torch"], capture_output=True)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "COLUMNS")}
        cli = str(venv / "bin" / "listenpost")
        helps = [timed([cli, "--help"], work, env)[0] for _ in range(args.runs)]
        shutil.copy(ROOT / "settings.toml", work / "settings.toml")
        # Run where the public sources cannot be reached (this project's machines reach only
        # the package registries): every source fails, the cycle must still end quickly.
        poll_s, poll_rc = timed([cli, "poll", "--once"], work, env)
        again_s, _ = timed([cli, "poll", "--once"], work, env)
        rows = [
            ("install (pip install ., non-editable)", f"{install_s:.0f} s"),
            ("venv size", f"{size_mb(venv):,.0f} MB"),
            ("torch installed", "yes" if torch.returncode == 0 else "no"),
            (f"--help cold start, min / median of {args.runs}",
             f"{min(helps):.2f} s / {statistics.median(helps):.2f} s"),
            ("poll --once offline, fresh database", f"{poll_s:.1f} s (exit {poll_rc})"),
            ("poll --once offline, second run", f"{again_s:.1f} s"),
        ]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"listenpost install benchmark — {describe()}")
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value:>18}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
