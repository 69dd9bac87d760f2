"""What every benchmark's ``--json`` file shares: the machine block and an atomic write.

Benchmarks run as scripts (``python benchmarks/bench_x.py``), so this module is imported as
``_common`` from their own folder.
"""

from __future__ import annotations

import json
import os
import platform
from datetime import date


def machine_meta(**extra) -> dict:
    """Date, machine, cores, Python and Kizuna versions, plus ``extra`` (the run's options)."""
    import kizuna

    return {
        "date": date.today().isoformat(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "kizuna": kizuna.__version__,
        **extra,
    }


def write_json(path: str, rows, **meta) -> None:
    """Write ``{"meta": machine_meta(**meta), "rows": rows}`` to ``path`` atomically."""
    from kizuna.core._io import atomic_write_text

    atomic_write_text(path, json.dumps({"meta": machine_meta(**meta), "rows": rows}, indent=2) + "\n")
