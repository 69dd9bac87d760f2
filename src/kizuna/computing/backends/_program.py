"""Gate sequences encoded as arrays for one numba call, and parameterised re-binding.

``Program`` turns gates (``FusedOp`` passes, or flat instructions one pass each) into the
table/qubits/data arrays of ``_numba_sv.run_program``, so a whole sequence runs without a trip
through Python per gate. ``Program.from_instructions`` also accepts gates whose parameters are
still symbolic: ``bind(values)`` recomputes only those gates' matrices, vectorised per gate name
(``core.gates.gate_matrices``), writing into the same data array. That is what makes a
variational loop (one circuit, thousands of parameter values) cost microseconds per call in
Python instead of a flatten, a parameter substitution and a fusion per call.

This module imports ``core`` and ``computing``; nothing above.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ...core.gates import GATES, gate_matrices
from ...errors import ParameterError
from .._fusion import FusedOp
from ..circuit import Instruction
from ..parameters import Parameter, ParameterExpression

# op codes: keep in step with core._kernels._numba_sv (OP_*); this module must not import numba
_DENSE, _DIAG, _X, _CX, _SWAP, _MCX = range(6)
_PERMUTATIONS = {"x": _X, "cx": _CX, "swap": _SWAP, "ccx": _MCX, "c3x": _MCX, "c4x": _MCX}
#: Parameterised table gates whose matrix is diagonal for every angle.
_DIAGONAL_GATES = frozenset({"rz", "p", "u1", "u0", "crz", "cp", "cu1", "rzz"})


#: Constant table gates with a diagonal matrix (others are checked entry by entry).
_DIAGONAL_CONSTANT = frozenset({"z", "s", "sdg", "t", "tdg", "cz"})
#: Constant table gates that are neither diagonal nor permutations: skip the check.
_DENSE_CONSTANT = frozenset({"h", "sx", "sxdg", "y", "cy", "ch", "csx", "ecr", "rccx", "rc3x", "c3sqrtx"})


def _is_diagonal(m: np.ndarray) -> bool:
    d = m.shape[0]
    return not np.count_nonzero(m.reshape(-1)[:-1].reshape(d - 1, d + 1)[:, 1:])


class Program:
    """An encoded gate sequence (see the module docstring).

    Attributes:
        table, qubits, data: the arrays of ``run_program``; ``data`` has ``dtype``.
        num_ops: number of passes.
        parameters: the free parameters, sorted by name (``bind`` takes values in this order).
    """

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)
        self._rows: list[tuple[int, int, int, int]] = []
        self._qubits: list[int] = []
        self._data: list[np.ndarray] = []
        self._size = 0
        # symbolic gates by name: (data offsets, parameter rows)
        self._symbolic: dict[str, tuple[list[int], list[tuple]]] = {}
        self.parameters: tuple[Parameter, ...] = ()

    # --- building ------------------------------------------------------------------------------
    def _add(self, code: int, qubits: Sequence[int], values: np.ndarray | None) -> int:
        offset = self._size
        self._rows.append((code, len(self._qubits), len(qubits), offset))
        self._qubits.extend(int(q) for q in qubits)
        if values is not None:
            flat = np.ascontiguousarray(values, dtype=self.dtype).reshape(-1)
            self._data.append(flat)
            self._size += flat.size
        return offset

    def _add_matrix(self, m: np.ndarray, qubits: Sequence[int]) -> None:
        if _is_diagonal(m):
            self._add(_DIAG, qubits, np.diagonal(m))
        else:
            self._add(_DENSE, qubits, m)

    def _finish(self) -> Program:
        self.table = np.array(self._rows, dtype=np.int64).reshape(-1, 4)
        self.qubits = np.array(self._qubits, dtype=np.int64)
        self.data = np.concatenate(self._data) if self._data else np.zeros(0, self.dtype)
        self.num_ops = len(self._rows)
        self._index: dict[str, tuple[np.ndarray, np.ndarray, list]] = {}
        names = sorted({p.name for _, rows in self._symbolic.values() for row in rows for p in _free(row)})
        self.parameters = tuple(Parameter(n) for n in names)
        position = {n: i for i, n in enumerate(names)}
        for name, (offsets, rows) in self._symbolic.items():
            # per gate parameter: a column of the values vector (>= 0), or -1 for a constant
            # or an expression (evaluated in bind)
            cols = np.full((len(rows), GATES[name].num_params), -1, dtype=np.int64)
            consts = np.zeros(cols.shape)
            exprs = []
            for i, row in enumerate(rows):
                for j, p in enumerate(row):
                    if isinstance(p, Parameter):
                        cols[i, j] = position[p.name]
                    elif isinstance(p, ParameterExpression):
                        exprs.append((i, j, p))
                    else:
                        consts[i, j] = p
            width = len(self._entries(name))
            idx = np.asarray(offsets, dtype=np.int64)[:, None] + np.arange(width)
            self._index[name] = (cols, consts, exprs, idx)
        if self._index and not self.parameters:
            self.bind(())  # numeric angles only: build the matrices now
        return self

    @staticmethod
    def _entries(name: str) -> range:
        dim = 1 << GATES[name].num_qubits
        return range(dim if name in _DIAGONAL_GATES else dim * dim)

    @classmethod
    def from_fused(cls, ops: Sequence[FusedOp], dtype) -> Program:
        """Encode fused passes (no ``passthrough`` ops)."""
        prog = cls(dtype)
        for op in ops:
            if op.kind == "diag":
                prog._add(_DIAG, op.qubits, op.diag)
            elif op.kind == "perm" and op.instruction.name in _PERMUTATIONS:
                prog._add(_PERMUTATIONS[op.instruction.name], op.qubits, None)
            elif op.kind == "passthrough":
                raise ValueError("a program cannot hold measurements, resets or conditions")
            else:
                prog._add(_DENSE, op.qubits, op.to_matrix())
        return prog._finish()

    @classmethod
    def from_instructions(cls, instructions: Sequence[Instruction], dtype) -> Program:
        """Encode gates one pass each; parameters may be symbolic (then call ``bind``)."""
        prog = cls(dtype)
        for ins in instructions:
            if ins.name in ("measure", "reset") or ins.condition is not None:
                raise ValueError("a program cannot hold measurements, resets or conditions")
            if ins.name in ("id", "u0"):
                continue
            if ins.name in _PERMUTATIONS:
                prog._add(_PERMUTATIONS[ins.name], ins.qubits, None)
            elif ins.name in GATES and GATES[ins.name].num_params:
                # parameterised table gates (numeric or symbolic angles) are built per gate
                # name in one vectorised call, by bind()
                diagonal = ins.name in _DIAGONAL_GATES
                width = len(cls._entries(ins.name))
                offset = prog._add(_DIAG if diagonal else _DENSE, ins.qubits, np.zeros(width))
                offsets, rows = prog._symbolic.setdefault(ins.name, ([], []))
                offsets.append(offset)
                rows.append(ins.params)
            elif ins.name in _DIAGONAL_CONSTANT:
                prog._add(_DIAG, ins.qubits, np.diagonal(ins.to_matrix()))
            elif ins.name in _DENSE_CONSTANT:
                prog._add(_DENSE, ins.qubits, ins.to_matrix())
            else:
                prog._add_matrix(ins.to_matrix(), ins.qubits)
        return prog._finish()

    # --- binding -------------------------------------------------------------------------------
    def values_vector(self, values) -> np.ndarray:
        """``values`` (a mapping ``{Parameter or name: float}`` or a sequence in the order of
        ``parameters``) as a float vector, checked complete."""
        names = [p.name for p in self.parameters]
        if isinstance(values, Mapping):
            by_name = {(k.name if isinstance(k, Parameter) else str(k)): v for k, v in values.items()}
            missing = [n for n in names if n not in by_name]
            if missing:
                raise ParameterError(f"no value for parameter(s) {', '.join(missing)}")
            vec = [by_name[n] for n in names]
        else:
            vec = list(values)
            if len(vec) != len(names):
                raise ParameterError(
                    f"expected {len(names)} parameter value(s) in the order {', '.join(names) or '()'}"
                    f" (got {len(vec)})"
                )
        try:
            out = np.array(vec, dtype=np.float64)
        except (TypeError, ValueError):
            raise ParameterError(f"parameter values must be real numbers (got {vec!r})") from None
        if out.ndim != 1 or not np.all(np.isfinite(out)):
            raise ParameterError(f"parameter values must be finite real numbers (got {vec!r})")
        return out

    def bind(self, values) -> None:
        """Recompute the matrices of the symbolic gates at ``values`` (see ``values_vector``)."""
        vec = self.values_vector(values)
        scope = None
        for name, (cols, consts, exprs, idx) in self._index.items():
            params = consts.copy()
            direct = cols >= 0
            if vec.size:
                params[direct] = vec[cols[direct]]
            if exprs:
                if scope is None:
                    scope = {p.name: float(v) for p, v in zip(self.parameters, vec)}
                for i, j, expr in exprs:
                    params[i, j] = float(expr.bind(scope))
            m = gate_matrices(name, params)
            if name in _DIAGONAL_GATES:
                m = np.diagonal(m, axis1=1, axis2=2)
            self.data[idx] = m.reshape(len(idx), -1)

    def run(self, state: np.ndarray, kernels) -> np.ndarray:
        """Apply the program to ``state`` in place with the numba ``kernels`` module."""
        if self.num_ops:
            kernels.run_program(state, self.table, self.qubits, self.data)
        return state


def _free(params) -> set[Parameter]:
    out: set[Parameter] = set()
    for p in params:
        if isinstance(p, ParameterExpression):
            out |= p.parameters
    return out
