"""Timing helpers for benchmarks: medians of repeated runs, a machine line, a table printer."""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import tempfile
import time


def median_time(fn, repeat: int = 7, number: int = 1, warmup: int = 1) -> float:
    """Median seconds per call of fn over `repeat` runs of `number` calls each."""
    for _ in range(warmup):
        fn()
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(number):
            fn()
        runs.append((time.perf_counter() - t) / number)
    return statistics.median(runs)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    system = f"{platform.system()} {platform.release()}"
    return f"{cpu}, {os.cpu_count()} cores, {system}, Python {platform.python_version()}"


def table(rows, header):
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"
    out = [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in rows]
    return "\n".join(out)


def run_script(python, script: str, args, env_extra, timeout: int = 7200) -> dict:
    """Run `script` (Python source) with another interpreter (a competitor's venv); it prints one JSON
    line last, which is returned. A failure becomes {"error": its last stderr line}."""
    env = dict(os.environ, **env_extra)
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(script)
        path = f.name
    try:
        r = subprocess.run([python, path, *args], capture_output=True, text=True, env=env, timeout=timeout)
    finally:
        os.unlink(path)
    if r.returncode != 0:
        return {"error": r.stderr.strip().splitlines()[-1] if r.stderr.strip() else f"exit {r.returncode}"}
    return json.loads(r.stdout.strip().splitlines()[-1])
