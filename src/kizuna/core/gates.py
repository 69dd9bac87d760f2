"""The one gate table: every standard gate's matrix, arity and inverse rule.

Conventions (as OpenQASM 2 and Qiskit):

* A gate applied to qubits ``(a, b, c, ...)`` has a matrix whose basis index gives ``a`` the
  weight 1, ``b`` the weight 2, ``c`` the weight 4, ... (the first qubit argument is the least
  significant bit). So ``cx`` with control ``a`` and target ``b`` maps index 1 (a=1, b=0) to 3.
* Controls come first, targets last: ``ccx(c0, c1, t)``, ``cswap(c, t0, t1)``.
* ``rz(θ) = diag(e^{-iθ/2}, e^{iθ/2})`` and ``p(λ) = u1(λ) = diag(1, e^{iλ})``; ``u(θ, φ, λ)`` is
  ``u3``; ``u2(φ, λ) = u3(π/2, φ, λ)``; ``cu(θ, φ, λ, γ)`` carries the global phase γ on the
  controlled block.

This module owns the matrices and ``embed``; it imports nothing from the rest of Kizuna but
``errors``.
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..errors import CircuitError

__all__ = ["GATES", "GateSpec", "embed", "gate_matrices", "gate_matrix"]

_PI = math.pi
_SQ2 = 1 / math.sqrt(2)


@dataclass(frozen=True)
class GateSpec:
    """One row of the gate table.

    Attributes:
        name: the OpenQASM 2 name.
        num_qubits: how many qubits the gate acts on.
        param_names: names of its angle parameters, in call order (radians).
        matrix: ``matrix(*params) -> ndarray`` of shape ``(2**num_qubits,) * 2``, complex128.
        inverse: ``inverse(*params) -> (name, params)`` giving the inverse as another table
            gate, or ``None`` when the inverse is not a table gate (then the circuit layer
            builds it from ``definition``).
        definition: the gate as a sequence of ``(name, qubit_positions, params_fn)`` over
            simpler table gates, for the few gates whose inverse needs it.
    """

    name: str
    num_qubits: int
    param_names: tuple[str, ...]
    matrix: Callable[..., np.ndarray]
    inverse: Callable[..., tuple[str, tuple]] | None = None
    definition: tuple | None = None

    @property
    def num_params(self) -> int:
        return len(self.param_names)


def _c(m) -> np.ndarray:
    a = np.array(m, dtype=np.complex128)
    a.setflags(write=False)
    return a


def _const(m) -> Callable[[], np.ndarray]:
    a = _c(m)
    return lambda: a


def _controlled(base: np.ndarray, num_controls: int) -> np.ndarray:
    """Controlled-``base`` with the controls on the low qubits and ``base`` on the high ones.

    ``base`` may carry leading batch axes (``(..., d, d)``); so does the result.
    """
    dim_t = base.shape[-1]
    dim_c = 1 << num_controls
    idx = (dim_c - 1) + dim_c * np.arange(dim_t)  # all controls set, target index varies
    if base.ndim == 2:
        out = np.eye(dim_c * dim_t, dtype=np.complex128)
        out[np.ix_(idx, idx)] = base
        out.setflags(write=False)
        return out
    out = np.zeros(base.shape[:-2] + (dim_c * dim_t,) * 2, dtype=np.complex128)
    out[..., np.arange(dim_c * dim_t), np.arange(dim_c * dim_t)] = 1
    out[..., idx[:, None], idx[None, :]] = base
    out.setflags(write=False)
    return out


def _m(rows) -> np.ndarray:
    """A matrix from rows of scalars or equally shaped arrays (a batch: ``(..., d, d)``)."""
    shape = next((v.shape for row in rows for v in row if getattr(v, "ndim", 0)), ())
    if not shape:
        return _c(rows)
    d = len(rows)
    out = np.zeros(shape + (d, d), dtype=np.complex128)
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            if not (isinstance(v, int) and v == 0):
                out[..., i, j] = v
    out.setflags(write=False)
    return out


# --- parameterised matrices ----------------------------------------------------------------
# Each takes floats or equally shaped float arrays (a batch of gates; see ``gate_matrices``);
# floats take the scalar ``math`` path, which is several times faster than numpy's for one gate.
def _cs(t):
    """(cos(t/2), sin(t/2))."""
    if isinstance(t, float):
        return math.cos(t / 2), math.sin(t / 2)
    return np.cos(t * 0.5), np.sin(t * 0.5)


def _expi(x):
    """exp(i x)."""
    if isinstance(x, float):
        return cmath.exp(1j * x)
    return np.exp(1j * x)


def _ones(x):
    return 1.0 if isinstance(x, float) else np.ones_like(x)


def _u3(theta, phi, lam):
    c, s = _cs(theta)
    return _m([[c, -_expi(lam) * s], [_expi(phi) * s, _expi(phi + lam) * c]])


def _rx(t):
    c, s = _cs(t)
    return _m([[c, -1j * s], [-1j * s, c]])


def _ry(t):
    c, s = _cs(t)
    return _m([[c, -s], [s, c]])


def _rz(t):
    return _m([[_expi(-0.5 * t), 0], [0, _expi(0.5 * t)]])


def _p(lam):
    return _m([[_ones(lam), 0], [0, _expi(lam)]])


def _u0(gamma):
    return _m([[_ones(gamma), 0], [0, _ones(gamma)]])


_I = _c(np.eye(2))
_X = _c([[0, 1], [1, 0]])
_Y = _c([[0, -1j], [1j, 0]])
_Z = _c([[1, 0], [0, -1]])
_H = _c([[_SQ2, _SQ2], [_SQ2, -_SQ2]])
_S = _c([[1, 0], [0, 1j]])
_SDG = _c([[1, 0], [0, -1j]])
_T = _c([[1, 0], [0, np.exp(0.25j * _PI)]])
_TDG = _c([[1, 0], [0, np.exp(-0.25j * _PI)]])
_SX = _c([[0.5 + 0.5j, 0.5 - 0.5j], [0.5 - 0.5j, 0.5 + 0.5j]])
_SXDG = _c([[0.5 - 0.5j, 0.5 + 0.5j], [0.5 + 0.5j, 0.5 - 0.5j]])
_SWAP = _c([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]])


def _rxx(t):
    c, s = _cs(t)
    s = -1j * s
    return _m([[c, 0, 0, s], [0, c, s, 0], [0, s, c, 0], [s, 0, 0, c]])


def _ryy(t):
    c, s = _cs(t)
    s = 1j * s
    return _m([[c, 0, 0, s], [0, c, -s, 0], [0, -s, c, 0], [s, 0, 0, c]])


def _rzz(t):
    a, b = _expi(-0.5 * t), _expi(0.5 * t)
    return _m([[a, 0, 0, 0], [0, b, 0, 0], [0, 0, b, 0], [0, 0, 0, a]])


def _rzx(t):
    # exp(-i t/2 X⊗Z): Z on the first qubit argument, X on the second (as Qiskit's RZXGate).
    c, s = _cs(t)
    s = 1j * s
    return _m([[c, 0, -s, 0], [0, c, 0, s], [-s, 0, c, 0], [0, s, 0, c]])


# Echoed cross-resonance gate (IBM's native two-qubit gate), as Qiskit's ECRGate: little-endian
# over (q0, q1), it is (IX - XY)/sqrt(2) with the X/Y on the second argument.
_ECR = _c(np.array([[0, 1, 0, 1j], [1, 0, -1j, 0], [0, 1j, 0, 1], [-1j, 0, 1, 0]]) / math.sqrt(2))


def _cu(theta, phi, lam, gamma):
    return _controlled(np.multiply(_expi(gamma), _u3(theta, phi, lam).T).T, 1)


# Definitions (as in OpenQASM 2's qelib1.inc) of the gates whose inverse is not a table gate;
# each step is (gate, qubit positions, params as a function of the gate's own params).
_NOP = lambda *a: ()  # noqa: E731


def _seq(*steps):
    return tuple(steps)


_CSX_DEF = _seq(("h", (1,), _NOP), ("cu1", (0, 1), lambda: (_PI / 2,)), ("h", (1,), _NOP))

_RC3X_DEF = _seq(
    ("u2", (3,), lambda: (0.0, _PI)),
    ("u1", (3,), lambda: (_PI / 4,)),
    ("cx", (2, 3), _NOP),
    ("u1", (3,), lambda: (-_PI / 4,)),
    ("u2", (3,), lambda: (0.0, _PI)),
    ("cx", (0, 3), _NOP),
    ("u1", (3,), lambda: (_PI / 4,)),
    ("cx", (1, 3), _NOP),
    ("u1", (3,), lambda: (-_PI / 4,)),
    ("cx", (0, 3), _NOP),
    ("u1", (3,), lambda: (_PI / 4,)),
    ("cx", (1, 3), _NOP),
    ("u1", (3,), lambda: (-_PI / 4,)),
    ("u2", (3,), lambda: (0.0, _PI)),
    ("u1", (3,), lambda: (_PI / 4,)),
    ("cx", (2, 3), _NOP),
    ("u1", (3,), lambda: (-_PI / 4,)),
    ("u2", (3,), lambda: (0.0, _PI)),
)


def _hcu1h(ctrl, angle):
    return (("h", (3,), _NOP), ("cu1", (ctrl, 3), lambda: (angle,)), ("h", (3,), _NOP))


_C3SQRTX_DEF = _seq(
    *_hcu1h(0, _PI / 8),
    ("cx", (0, 1), _NOP),
    *_hcu1h(1, -_PI / 8),
    ("cx", (0, 1), _NOP),
    *_hcu1h(1, _PI / 8),
    ("cx", (1, 2), _NOP),
    *_hcu1h(2, -_PI / 8),
    ("cx", (0, 2), _NOP),
    *_hcu1h(2, _PI / 8),
    ("cx", (1, 2), _NOP),
    *_hcu1h(2, -_PI / 8),
    ("cx", (0, 2), _NOP),
    *_hcu1h(2, _PI / 8),
)


def _matrix_of_definition(definition, num_qubits: int) -> np.ndarray:
    out = np.eye(1 << num_qubits, dtype=np.complex128)
    for name, qubits, params in definition:
        out = embed(gate_matrix(name, params()), qubits, num_qubits) @ out
    out.setflags(write=False)
    return out


@lru_cache(maxsize=None)
def _rccx():
    # qelib1.inc: u2(0,pi) c; u1(pi/4) c; cx b,c; u1(-pi/4) c; cx a,c; u1(pi/4) c; cx b,c;
    # u1(-pi/4) c; u2(0,pi) c  — a Toffoli up to relative phases.
    d = _seq(
        ("u2", (2,), lambda: (0.0, _PI)),
        ("u1", (2,), lambda: (_PI / 4,)),
        ("cx", (1, 2), _NOP),
        ("u1", (2,), lambda: (-_PI / 4,)),
        ("cx", (0, 2), _NOP),
        ("u1", (2,), lambda: (_PI / 4,)),
        ("cx", (1, 2), _NOP),
        ("u1", (2,), lambda: (-_PI / 4,)),
        ("u2", (2,), lambda: (0.0, _PI)),
    )
    return _matrix_of_definition(d, 3)


@lru_cache(maxsize=None)
def _rc3x():
    return _matrix_of_definition(_RC3X_DEF, 4)


def _neg(*ps):
    return tuple(-p for p in ps)


def _spec(name, nq, params, matrix, inverse=None, definition=None):
    return GateSpec(name, nq, tuple(params), matrix, inverse, definition)


def _self_inverse(name):
    return lambda *ps: (name, ps)


def _negate(name):
    return lambda *ps: (name, _neg(*ps))


def _u3_inverse(name):
    return lambda t, f, l: (name, (-t, -l, -f))  # noqa: E741


_CX = _controlled(_X, 1)
_CCX = _controlled(_X, 2)
_C3X = _controlled(_X, 3)
_C4X = _controlled(_X, 4)

_TABLE: list[GateSpec] = [
    # one qubit, no parameters
    _spec("id", 1, (), lambda: _I, _self_inverse("id")),
    _spec("x", 1, (), lambda: _X, _self_inverse("x")),
    _spec("y", 1, (), lambda: _Y, _self_inverse("y")),
    _spec("z", 1, (), lambda: _Z, _self_inverse("z")),
    _spec("h", 1, (), lambda: _H, _self_inverse("h")),
    _spec("s", 1, (), lambda: _S, lambda: ("sdg", ())),
    _spec("sdg", 1, (), lambda: _SDG, lambda: ("s", ())),
    _spec("t", 1, (), lambda: _T, lambda: ("tdg", ())),
    _spec("tdg", 1, (), lambda: _TDG, lambda: ("t", ())),
    _spec("sx", 1, (), lambda: _SX, lambda: ("sxdg", ())),
    _spec("sxdg", 1, (), lambda: _SXDG, lambda: ("sx", ())),
    # one qubit, parameterised
    _spec("rx", 1, ("theta",), _rx, _negate("rx")),
    _spec("ry", 1, ("theta",), _ry, _negate("ry")),
    _spec("rz", 1, ("phi",), _rz, _negate("rz")),
    _spec("p", 1, ("lambda",), _p, _negate("p")),
    _spec("u1", 1, ("lambda",), _p, _negate("u1")),
    _spec("u0", 1, ("gamma",), _u0, _self_inverse("u0")),  # legacy idle gate
    _spec(
        "u2",
        1,
        ("phi", "lambda"),
        lambda f, l: _u3(f * 0 + _PI / 2, f, l),  # noqa: E741
        lambda f, l: ("u2", (-l - _PI, -f + _PI)),  # noqa: E741
    ),
    _spec("u3", 1, ("theta", "phi", "lambda"), _u3, _u3_inverse("u3")),
    _spec("u", 1, ("theta", "phi", "lambda"), _u3, _u3_inverse("u")),
    # two qubits
    _spec("cx", 2, (), lambda: _CX, _self_inverse("cx")),
    _spec("cy", 2, (), lambda: _controlled(_Y, 1), _self_inverse("cy")),
    _spec("cz", 2, (), lambda: _controlled(_Z, 1), _self_inverse("cz")),
    _spec("ch", 2, (), lambda: _controlled(_H, 1), _self_inverse("ch")),
    _spec("swap", 2, (), lambda: _SWAP, _self_inverse("swap")),
    _spec("csx", 2, (), lambda: _controlled(_SX, 1), None, _CSX_DEF),
    _spec("crx", 2, ("theta",), lambda t: _controlled(_rx(t), 1), _negate("crx")),
    _spec("cry", 2, ("theta",), lambda t: _controlled(_ry(t), 1), _negate("cry")),
    _spec("crz", 2, ("theta",), lambda t: _controlled(_rz(t), 1), _negate("crz")),
    _spec("cp", 2, ("lambda",), lambda l: _controlled(_p(l), 1), _negate("cp")),  # noqa: E741
    _spec("cu1", 2, ("lambda",), lambda l: _controlled(_p(l), 1), _negate("cu1")),  # noqa: E741
    _spec(
        "cu3",
        2,
        ("theta", "phi", "lambda"),
        lambda t, f, l: _controlled(_u3(t, f, l), 1),  # noqa: E741
        _u3_inverse("cu3"),
    ),
    _spec(
        "cu",
        2,
        ("theta", "phi", "lambda", "gamma"),
        _cu,
        lambda t, f, l, g: ("cu", (-t, -l, -f, -g)),  # noqa: E741
    ),
    _spec("rxx", 2, ("theta",), _rxx, _negate("rxx")),
    _spec("ryy", 2, ("theta",), _ryy, _negate("ryy")),
    _spec("rzz", 2, ("theta",), _rzz, _negate("rzz")),
    _spec("rzx", 2, ("theta",), _rzx, _negate("rzx")),
    _spec("ecr", 2, (), lambda: _ECR, _self_inverse("ecr")),
    # three and more qubits
    _spec("ccx", 3, (), lambda: _CCX, _self_inverse("ccx")),
    _spec("cswap", 3, (), lambda: _controlled(_SWAP, 1), _self_inverse("cswap")),
    _spec("rccx", 3, (), _rccx, _self_inverse("rccx")),
    _spec("c3x", 4, (), lambda: _C3X, _self_inverse("c3x")),
    _spec("rc3x", 4, (), _rc3x, None, _RC3X_DEF),
    _spec("c3sqrtx", 4, (), lambda: _controlled(_SX, 3), None, _C3SQRTX_DEF),
    _spec("c4x", 5, (), lambda: _C4X, _self_inverse("c4x")),
]

#: Every standard gate by its OpenQASM 2 name.
GATES: dict[str, GateSpec] = {g.name: g for g in _TABLE}


def gate_matrix(name: str, params: Sequence[float] = ()) -> np.ndarray:
    """The matrix of a table gate at numeric parameters (radians).

    Args:
        name: OpenQASM 2 gate name, for example ``"cx"`` or ``"u3"``.
        params: its angles, in the order of ``GATES[name].param_names``.

    Returns:
        A read-only complex128 array of shape ``(2**k, 2**k)`` for a ``k``-qubit gate, in the
        little-endian convention of the module docstring.

    Raises:
        CircuitError: unknown name or wrong number of parameters.

    Example:
        >>> gate_matrix("cx").real.astype(int)
        array([[1, 0, 0, 0],
               [0, 0, 0, 1],
               [0, 0, 1, 0],
               [0, 1, 0, 0]])
    """
    try:
        spec = GATES[name]
    except KeyError:
        raise CircuitError(f"unknown gate {name!r}; known gates: {', '.join(GATES)}") from None
    if len(params) != spec.num_params:
        raise CircuitError(
            f"gate {name!r} takes {spec.num_params} parameter(s) "
            f"{spec.param_names}, got {len(params)}"
        )
    return spec.matrix(*(float(p) for p in params))


def gate_matrices(name: str, params) -> np.ndarray:
    """The matrices of many instances of one table gate at once (vectorised over instances).

    Args:
        name: OpenQASM 2 gate name.
        params: float array of shape ``(m, num_params)``, one row of angles per instance.

    Returns:
        complex128 array of shape ``(m, 2**k, 2**k)``; entry ``i`` equals
        ``gate_matrix(name, params[i])`` up to rounding (numpy's and ``math``'s cosines may
        differ in the last bit).

    Example:
        >>> gate_matrices("rz", [[0.0], [3.14159265]]).shape
        (2, 2, 2)
    """
    spec = GATES.get(name)
    if spec is None:
        raise CircuitError(f"unknown gate {name!r}; known gates: {', '.join(GATES)}")
    p = np.asarray(params, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != spec.num_params:
        raise CircuitError(f"gate {name!r} needs params of shape (m, {spec.num_params}), got {p.shape}")
    if spec.num_params == 0:
        return np.broadcast_to(spec.matrix(), (p.shape[0],) + (1 << spec.num_qubits,) * 2)
    return spec.matrix(*p.T)


def embed(op: np.ndarray, qubits: Sequence[int], num_qubits: int) -> np.ndarray:
    """The ``2**n x 2**n`` matrix of ``op`` acting on ``qubits`` of an ``n``-qubit register.

    ``op`` is a ``2**k x 2**k`` matrix in the little-endian convention (``qubits[0]`` is its
    least significant bit). Qubit ``j`` of the register has weight ``2**j``.

    Cost: O(4**n) memory and time — for references and small checks, not for simulation.

    Example:
        >>> import numpy as np
        >>> m = embed(gate_matrix("x"), [1], 2)   # X on qubit 1: |00> -> |10> (index 2)
        >>> int(np.argmax(np.abs(m[:, 0])))
        2
    """
    qubits = tuple(int(q) for q in qubits)
    k = len(qubits)
    if op.shape != (1 << k, 1 << k):
        raise CircuitError(f"operator of shape {op.shape} does not act on {k} qubit(s)")
    if len(set(qubits)) != k or any(not 0 <= q < num_qubits for q in qubits):
        raise CircuitError(f"qubits {qubits} must be distinct and in range(0, {num_qubits})")
    # Tensor axes: numpy's reshape is big-endian (axis 0 = most significant bit), so qubit j
    # of n sits on axis n-1-j.
    n = num_qubits
    rest = [q for q in range(n) if q not in qubits]
    full = np.kron(np.eye(1 << len(rest), dtype=np.complex128), op)
    # `full` acts with op on the lowest k bits (in the order of `qubits`) and identity on the
    # rest; permute so that bit i of `full` lands on register qubit order[i].
    order = list(qubits) + rest
    t = full.reshape((2,) * (2 * n))
    # axis for "bit i of full" is n-1-i (rows) and 2n-1-i (columns)
    perm_rows = [0] * n
    for i, q in enumerate(order):
        perm_rows[n - 1 - q] = n - 1 - i
    perm = perm_rows + [n + a for a in perm_rows]
    return np.ascontiguousarray(t.transpose(perm).reshape(1 << n, 1 << n))
