"""``run_batch``: many circuits and large shot counts, split into tasks for any executor.

Each circuit gets a child of ``numpy.random.SeedSequence(seed)`` (spawned in circuit order);
with ``shots_per_task``, a circuit's shots are cut into chunks of that size, each with a child of
the circuit's sequence (spawned in chunk order). Every task is one ``kizuna.run`` with its own
integer seed, so the tasks can run anywhere: in this process (the default), on a
``concurrent.futures`` pool, or on a Dask cluster through ``client.get_executor()``. Results are
merged in task order (counts summed, memory concatenated), so they depend on ``seed`` and
``shots_per_task`` only, never on the executor or its number of workers.

This module imports ``core`` and its ``computing`` siblings only.
"""

from __future__ import annotations

import concurrent.futures as cf
import numbers
from collections.abc import Mapping, Sequence

import numpy as np

from .. import __version__
from ..core.random import resolve_seed
from ..errors import SimulationError
from .circuit import Circuit
from .execute import run
from .result import Result

__all__ = ["run_batch"]


def _task_seed(seq: np.random.SeedSequence) -> int:
    # 53 bits, like resolve_seed's fresh seeds: exact in every JSON reader
    return int(seq.generate_state(1, np.uint64)[0]) >> 11


def _run_task(circuit, shots, seed, memory, backend, noise, precision, backend_options) -> Result:
    return run(circuit, shots=shots, seed=seed, memory=memory, backend=backend, noise=noise,
               precision=precision, num_threads=None, backend_options=backend_options)


def run_batch(
    circuits: Circuit | Sequence[Circuit],
    shots: int = 1024,
    seed: int | None = None,
    *,
    executor: cf.Executor | None = None,
    shots_per_task: int | None = None,
    memory: bool = False,
    backend: str = "auto",
    noise=None,
    precision: str = "double",
    backend_options: Mapping[str, object] | None = None,
) -> list[Result]:
    """Run each circuit ``shots`` times as independent tasks on ``executor``.

    Args:
        circuits: one circuit or a sequence of them (all parameters bound).
        shots: shots per circuit (>= 1).
        seed: the root seed (non-negative integer, or ``None`` for fresh entropy, recorded in
            every result's provenance). A Generator is not accepted: tasks need seeds they can
            carry to other processes.
        executor: any ``concurrent.futures.Executor`` (a ``ProcessPoolExecutor``, a Dask
            ``client.get_executor()``); ``None`` runs the tasks here, one after another.
        shots_per_task: cut each circuit's shots into chunks of this many (the last one
            shorter); ``None``: one task per circuit. Results depend on it (each chunk samples
            with its own seed), not on the executor.
        memory, backend, noise, precision, backend_options: as for ``kizuna.run``, for every
            task.

    Returns:
        One ``Result`` per circuit, in order: counts summed over its chunks, memory in chunk
        order, ``provenance["seed"]`` the root seed and ``provenance["batch"]`` with the
        circuit's index, ``shots_per_task`` and every task's seed (``kizuna.run(circuit,
        chunk_shots, seed=task_seed)`` repeats a task). With one task per circuit, a result's
        counts equal ``kizuna.run(circuit, shots, seed=task_seeds[0])``'s.

    Raises:
        SimulationError: bad ``shots``, ``shots_per_task``, ``seed`` or ``circuits``; any error
        of a task (the first one, in task order).

    Example:
        >>> import kizuna
        >>> bell = kizuna.Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1])
        >>> a, b = run_batch([bell, bell], shots=1000, seed=7, shots_per_task=300)
        >>> a.shots, sorted(a.counts), len(a.provenance["batch"]["task_seeds"])
        (1000, ['00', '11'], 4)
        >>> a.counts == run_batch([bell, bell], shots=1000, seed=7, shots_per_task=300)[0].counts
        True
    """
    circuit_list = [circuits] if isinstance(circuits, Circuit) else list(circuits)
    if not circuit_list or not all(isinstance(c, Circuit) for c in circuit_list):
        raise SimulationError("circuits must be a Circuit or a non-empty sequence of Circuits")
    for name, value in (("shots", shots), ("shots_per_task", shots_per_task)):
        if value is None and name == "shots_per_task":
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise SimulationError(f"{name} must be a positive integer (got {value!r})")
    if isinstance(seed, np.random.Generator):
        raise SimulationError("run_batch needs an integer seed (or None): a Generator cannot be "
                              "split into seeds for other processes")
    try:
        _, root = resolve_seed(seed)
    except ValueError as exc:
        raise SimulationError(str(exc)) from None
    shots = int(shots)
    chunk = shots if shots_per_task is None else int(shots_per_task)

    tasks: list[tuple[int, int, int]] = []  # (circuit index, shots, seed)
    for index, child in enumerate(np.random.SeedSequence(root).spawn(len(circuit_list))):
        sizes = [chunk] * (shots // chunk) + ([shots % chunk] if shots % chunk else [])
        for size, grandchild in zip(sizes, child.spawn(len(sizes)), strict=True):
            tasks.append((index, size, _task_seed(grandchild)))

    common = (memory, backend, noise, precision, backend_options)
    if executor is None:
        outputs = [_run_task(circuit_list[i], n, s, *common) for i, n, s in tasks]
    else:
        futures = [executor.submit(_run_task, circuit_list[i], n, s, *common) for i, n, s in tasks]
        outputs = [f.result() for f in futures]

    results = []
    for index, circuit in enumerate(circuit_list):
        mine = [(t, r) for t, r in zip(tasks, outputs, strict=True) if t[0] == index]
        counts: dict[str, int] = {}
        for _, r in mine:
            for key, n in r.counts.items():
                counts[key] = counts.get(key, 0) + n
        first = mine[0][1]
        merged_memory = None if not memory else tuple(m for _, r in mine for m in r.memory)
        provenance = dict(
            first.provenance,
            kizuna_version=__version__,
            seed=root,
            shots=shots,
            batch={"index": index, "shots_per_task": shots_per_task,
                   "task_seeds": [t[2] for t, _ in mine], "task_shots": [t[1] for t, _ in mine],
                   "task_backends": sorted({r.backend for _, r in mine})},
        )
        metadata = {"tasks": len(mine), "time_taken_s": sum(r.metadata.get("time_taken_s", 0.0) for _, r in mine)}
        results.append(Result(
            counts=dict(sorted(counts.items())), shots=shots, memory=merged_memory,
            num_qubits=circuit.num_qubits, num_clbits=circuit.num_clbits, registers=first.registers,
            backend=first.backend if len({r.backend for _, r in mine}) == 1 else "mixed",
            seed=root, provenance=provenance, metadata=metadata,
        ))
    return results
