"""Detector error models without Stim: single-fault propagation, merging, graph-like parts.

Private to ``kizuna.computing.qec``. Given a noisy Clifford program (``Instruction`` items and
Pauli ``ChannelOp`` items), its detectors and observables (tuples of record indices),
``analyse_faults`` finds which detectors and observables each single fault flips:

1. **Faults.** Every Pauli channel becomes independent mechanisms, one per non-identity Pauli
   ``E`` with probability ``q_E`` (``independent_mechanisms``): exact when the channel is such a
   product (depolarizing noise, bit and phase flips: Stim's conversion), else the first-order
   approximation ``q_E = p_E``.
2. **Propagation.** All faults at once, one bit per fault in ``uint64`` words: a Pauli frame
   per qubit (X and Z parts) over the faults, conjugated by each gate (phases dropped), the
   fault's Pauli XORed in at its channel, a measurement recording the frame's X bit (flipped
   outcome), a reset clearing the qubit. A detector's flips are the XOR of its records' rows.
3. **Merging.** Faults with the same detectors and observables merge into one mechanism:
   ``1 - 2 p = prod_f (1 - 2 q_f)`` (two at a time: ``p = p1 (1 - p2) + p2 (1 - p1)``).

``decompose`` then cuts every mechanism into graph-like parts (one or two detectors) for a
matching decoder: first by detector basis (a CSS code's X-type and Z-type detectors see the Z
and X parts of an error separately; each observable goes with the detectors of its basis),
then, where a part still has more than two detectors, into edges that single faults produce
on their own (a search that also matches the observables), else it raises ``QECError``.
Parts with the same detectors merge as above; ``to_matching`` builds the
``pymatching.Matching`` with weights ``log((1 - p) / p)``.

This module imports ``core``, ``errors`` and ``computing``'s circuit and noise types; pymatching
only inside ``to_matching``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import QECError
from ._clifford import pauli_channel_probabilities
from .circuit import Instruction
from .noise import ChannelOp

__all__ = ["DetectorErrorModel", "analyse_faults", "decompose", "independent_mechanisms"]

#: Faults transposed to per-fault keys at a time (bounds the temporary bool matrix).
_FAULT_BLOCK = 1 << 14
#: Largest same-basis part ``decompose`` searches a split of.
_MAX_SPLIT = 12

_ONE = np.uint64(1)


def _anticommute(x1: int, z1: int, x2: int, z2: int) -> int:
    return ((x1 & z2).bit_count() + (z1 & x2).bit_count()) & 1


def independent_mechanisms(terms, num_qubits: int) -> list[tuple[int, int, float]]:
    """``[(x_mask, z_mask, q)]``: independent Pauli errors whose product is the channel.

    ``terms`` is ``pauli_channel_probabilities``' list ``[(x, z, p)]`` (identity included). A
    Pauli ``P`` has eigenvalue ``lambda_P = sum_E p_E (-1)^<P,E>`` under the channel and
    ``prod_{E anticommuting with P} (1 - 2 q_E)`` under independent errors, so
    ``log(1 - 2 q)`` solves a linear system over the non-identity Paulis. Exact when the
    solution has every ``q`` in ``[0, 1/2)`` (depolarizing: ``q = (1 - (1 - 4**k p /
    (4**k - 1))**(2 / 4**k)) / 2``, Stim's conversion); otherwise the disjoint probabilities
    ``p_E`` are returned (right to first order).

    Example (depolarizing of total probability 0.03: ``q = (1 - sqrt(1 - 4 * 0.03 / 3)) / 2``):
        >>> [(x, z, round(q, 6)) for x, z, q in independent_mechanisms([(0, 0, 0.97), (1, 0, 0.01),
        ...     (1, 1, 0.01), (0, 1, 0.01)], 1)]
        [(0, 1, 0.010102), (1, 0, 0.010102), (1, 1, 0.010102)]
    """
    errors = [(x, z, p) for x, z, p in terms if (x or z) and p > 0]
    if not errors:
        return []
    paulis = [(x, z) for x in range(1 << num_qubits) for z in range(1 << num_qubits)][1:]
    lam = np.array([sum(p * (-1) ** _anticommute(px, pz, x, z) for x, z, p in terms)
                    for px, pz in paulis])
    if np.all(lam > 0):
        a = np.array([[_anticommute(px, pz, ex, ez) for ex, ez in paulis] for px, pz in paulis],
                     dtype=float)
        u = np.linalg.solve(a, np.log(lam))
        q = -np.expm1(u) / 2
        if np.all(q > -1e-13) and np.all(q < 0.5):
            return [(ex, ez, qe) for (ex, ez), qe in zip(paulis, q.tolist()) if qe > 1e-15]
    return errors


@dataclass(frozen=True)
class DetectorErrorModel:
    """Error mechanisms of a noisy circuit and the matching graph made of them.

    Attributes:
        num_detectors, num_observables: sizes.
        mechanisms: ``(detectors, observables, probability)`` per merged mechanism, sorted,
            as Stim's ``detector_error_model(decompose_errors=False)`` lists them.
        edges: ``(detector, detector or -1 for the boundary, observables, probability)`` of
            the graph-like decomposition.
        num_faults: single faults (independent Pauli mechanisms of the channels) analysed.
        undetectable_probability: probability that a fault flips an observable and no
            detector of its basis (0 for a code of distance >= 2).
        conflicts: pairs of detectors joined by parts that flip different observables (the
            less likely part is dropped; 0 for these codes).
    """

    num_detectors: int
    num_observables: int
    mechanisms: tuple[tuple[tuple[int, ...], tuple[int, ...], float], ...]
    edges: tuple[tuple[int, int, tuple[int, ...], float], ...]
    num_faults: int
    undetectable_probability: float = 0.0
    conflicts: int = 0

    @property
    def num_edges(self) -> int:
        """Edges of the matching graph (boundary edges included)."""
        return len(self.edges)

    def to_matching(self):
        """The ``pymatching.Matching`` of ``edges`` (weights ``log((1 - p) / p)``, each
        observable a fault id).

        Raises:
            ImportError: pymatching is missing (``pip install 'kizuna[qec]'``).
            QECError: a detector that no edge reaches.
        """
        pymatching = require_pymatching()
        m = pymatching.Matching()
        seen = np.zeros(self.num_detectors, bool)
        for a, b, obs, p in self.edges:
            if p <= 0:
                continue
            w = math.log((1 - p) / p)
            if b < 0:
                m.add_boundary_edge(a, fault_ids=set(obs), weight=w, error_probability=p)
            else:
                m.add_edge(a, b, fault_ids=set(obs), weight=w, error_probability=p)
                seen[b] = True
            seen[a] = True
        if self.edges and not seen.all():
            missing = np.flatnonzero(~seen)[:5].tolist()
            raise QECError(f"detector(s) {missing} are flipped by no fault; the matching graph "
                           "cannot decode them")
        m.ensure_num_fault_ids(self.num_observables)
        return m


def require_pymatching():
    """``import pymatching`` with the install hint when it is missing."""
    try:
        import pymatching
    except ImportError:
        raise ImportError(
            "decoding needs pymatching (minimum-weight perfect matching); "
            "pip install 'kizuna[qec]'"
        ) from None
    return pymatching


# --- fault propagation ---------------------------------------------------------------------------
def _enumerate_faults(program: Sequence):
    """Per program item, the fault columns it injects: ``[(item, qubits, x, z, q)]``."""
    cache: dict = {}
    faults = []
    for i, item in enumerate(program):
        if not isinstance(item, ChannelOp):
            continue
        if item.condition is not None:
            raise QECError(f"item {i}: conditioned noise is not supported by the error model")
        key = id(item.channel)
        if key not in cache:
            terms = pauli_channel_probabilities(item.channel.kraus)
            if terms is None:
                raise QECError(f"item {i}: channel {item.channel.name!r} is not a Pauli channel; "
                               "detector error models take Pauli noise only")
            cache[key] = (item.channel, independent_mechanisms(terms, item.channel.num_qubits))
        for x, z, q in cache[key][1]:
            faults.append((i, item.qubits, x, z, q))
    return faults


def _propagate(program, num_qubits: int, num_records: int, faults) -> np.ndarray:
    """The record flips of every fault: uint64 ``(num_records, ceil(F / 64))``, bit ``f % 64``
    of word ``f // 64`` for fault ``f``."""
    nf = len(faults)
    fw = max(1, (nf + 63) // 64)
    fx = np.zeros((num_qubits, fw), np.uint64)
    fz = np.zeros((num_qubits, fw), np.uint64)
    rec = np.zeros((num_records, fw), np.uint64)
    # injections grouped by program item
    inject: dict[int, list] = defaultdict(list)
    for f, (i, qubits, x, z, _) in enumerate(faults):
        inject[i].append((f, qubits, x, z))
    plans = {}
    for i, lst in inject.items():
        xq, xf, zq, zf = [], [], [], []
        for f, qubits, x, z in lst:
            for j, q in enumerate(qubits):
                if (x >> j) & 1:
                    xq.append(q)
                    xf.append(f)
                if (z >> j) & 1:
                    zq.append(q)
                    zf.append(f)
        xf_, zf_ = np.array(xf, np.int64), np.array(zf, np.int64)
        plans[i] = (np.array(xq, np.int64), xf_ >> 6, _ONE << (xf_ & 63).astype(np.uint64),
                    np.array(zq, np.int64), zf_ >> 6, _ONE << (zf_ & 63).astype(np.uint64))
    for i, item in enumerate(program):
        if isinstance(item, ChannelOp):
            plan = plans.get(i)
            if plan is not None:
                xq, xw, xb, zq, zw, zb = plan
                np.bitwise_xor.at(fx, (xq, xw), xb)
                np.bitwise_xor.at(fz, (zq, zw), zb)
            continue
        if not isinstance(item, Instruction):
            raise QECError(f"item {i} of the program is a {type(item).__name__}; expected an "
                           "Instruction or a ChannelOp")
        name, qs = item.name, item.qubits
        if item.condition is not None:
            raise QECError(f"item {i} ({item.label()}) is conditioned; the error model takes "
                           "unconditioned Clifford circuits")
        if name == "measure":
            q, b = qs[0], item.clbits[0]
            if not 0 <= b < num_records:
                raise QECError(f"item {i} writes record {b} outside range(0, {num_records})")
            rec[b] = fx[q]
            fz[q] = 0  # Z on a Z eigenstate is a phase
        elif name == "reset":
            fx[qs[0]] = 0
            fz[qs[0]] = 0
        elif name == "h":
            a = qs[0]
            fx[a], fz[a] = fz[a].copy(), fx[a].copy()
        elif name == "cx":
            a, t = qs
            fx[t] ^= fx[a]
            fz[a] ^= fz[t]
        elif name == "cz":
            a, t = qs
            fz[a] ^= fx[t]
            fz[t] ^= fx[a]
        elif name in ("s", "sdg"):
            fz[qs[0]] ^= fx[qs[0]]
        elif name in ("sx", "sxdg"):
            fx[qs[0]] ^= fz[qs[0]]
        elif name == "swap":
            a, t = qs
            fx[[a, t]] = fx[[t, a]]
            fz[[a, t]] = fz[[t, a]]
        elif name in ("id", "x", "y", "z", "barrier"):
            pass
        else:
            raise QECError(f"item {i} ({item.label()}) is not supported by the error model "
                           "(it takes h, s, sdg, sx, sxdg, x, y, z, id, cx, cz, swap, measure, "
                           "reset)")
    return rec


def _xor_rows(rec: np.ndarray, groups: Sequence[Sequence[int]]) -> np.ndarray:
    """Row ``j``: XOR of ``rec``'s rows ``groups[j]``."""
    out = np.zeros((len(groups), rec.shape[1]), np.uint64)
    for j, g in enumerate(groups):
        for r in g:
            out[j] ^= rec[r]
    return out


def analyse_faults(program: Sequence, num_qubits: int, num_records: int,
                   detectors: Sequence[Sequence[int]], observables: Sequence[Sequence[int]]):
    """Merged mechanisms of ``program``: ``(mechanisms, num_faults, undetectable)``.

    ``mechanisms``: sorted ``(detectors, observables, p)`` of every symptom some fault has
    (a fault with no symptom is dropped); ``undetectable``: the merged probability of the
    faults that flip observables and no detector.

    Cost: ``O(len(program) * F / 64)`` word operations for ``F`` faults (``F`` is about 15 per
    CX), plus ``O(F * (D + K))`` to key the faults.
    """
    faults = _enumerate_faults(program)
    nf = len(faults)
    nd, nk = len(detectors), len(observables)
    if nf == 0:
        return (), 0, 0.0
    rec = _propagate(program, num_qubits, num_records, faults)
    flips = np.concatenate([_xor_rows(rec, detectors), _xor_rows(rec, observables)])
    rows = nd + nk
    nbytes = (rows + 7) // 8
    keys = np.empty((nf, nbytes), np.uint8)
    for f0 in range(0, nf, _FAULT_BLOCK):
        f1 = min(nf, f0 + _FAULT_BLOCK)
        words = flips[:, f0 // 64:(f1 + 63) // 64].astype("<u8", copy=False)
        bits = np.unpackbits(words.view(np.uint8), axis=1, bitorder="little")[:, :f1 - f0]
        keys[f0:f1] = np.packbits(bits, axis=0, bitorder="little").T
    void = np.ascontiguousarray(keys).view(np.dtype((np.void, nbytes))).ravel()
    uniq, inverse = np.unique(void, return_inverse=True)
    q = np.array([f[4] for f in faults])
    log_fid = np.bincount(inverse.ravel(), weights=np.log1p(-2 * q), minlength=uniq.size)
    probs = -np.expm1(log_fid) / 2
    sym = np.unpackbits(np.frombuffer(uniq.tobytes(), np.uint8).reshape(uniq.size, nbytes),
                        axis=1, bitorder="little")[:, :rows].astype(bool)
    mechanisms = []
    undetectable = 0.0
    for s, p in zip(sym, probs.tolist()):
        dets = tuple(np.flatnonzero(s[:nd]).tolist())
        obs = tuple(np.flatnonzero(s[nd:]).tolist())
        if not dets and not obs:
            continue
        if not dets:
            undetectable = undetectable + p - 2 * undetectable * p
            continue
        mechanisms.append((dets, obs, p))
    mechanisms.sort()
    return tuple(mechanisms), nf, undetectable


# --- graph-like decomposition -----------------------------------------------------------------
def _components(dets, obs, detector_basis, observable_basis):
    """Split a mechanism by basis: ``{basis: (dets, obs)}``."""
    parts: dict[str, tuple[list, set]] = {}
    for d in dets:
        parts.setdefault(detector_basis[d], ([], set()))[0].append(d)
    for k in obs:
        parts.setdefault(observable_basis[k], ([], set()))[1].add(k)
    return {b: (tuple(ds), frozenset(os)) for b, (ds, os) in parts.items()}


def _split(dets: tuple, obs: frozenset, known: dict):
    """A list of known edges ``(dets, obs)`` whose detectors partition ``dets`` and whose
    observables XOR to ``obs``, or ``None``. Tries pairs before single detectors."""
    if not dets:
        return [] if not obs else None
    d0 = dets[0]
    rest_set = set(dets)
    for edge, options in known.get(d0, ()):
        if not all(x in rest_set for x in edge):
            continue
        rest = tuple(x for x in dets if x not in edge)
        for eobs in options:
            sub = _split(rest, obs ^ eobs, known)
            if sub is not None:
                return [(edge, eobs)] + sub
    return None


def decompose(mechanisms, num_detectors: int, num_observables: int, detector_basis,
              observable_basis, num_faults: int, undetectable: float = 0.0) -> DetectorErrorModel:
    """Graph-like edges of ``mechanisms`` (see the module docstring).

    Raises:
        QECError: a part with more than two detectors that known edges cannot make up.
    """
    split = []
    for dets, obs, p in mechanisms:
        split.append((_components(dets, obs, detector_basis, observable_basis), p))
    # edges that single faults produce on their own (per basis part): detector -> options
    edge_obs: dict[tuple, set] = defaultdict(set)
    for comps, _ in split:
        if all(len(ds) <= 2 for ds, _ in comps.values()):
            for ds, os in comps.values():
                if ds:
                    edge_obs[ds].add(os)
    known: dict[int, list] = defaultdict(list)
    for ds in sorted(edge_obs, key=lambda e: (-len(e), e)):
        for d in ds:
            known[d].append((ds, sorted(edge_obs[ds], key=sorted)))
    acc: dict[tuple, dict] = defaultdict(lambda: defaultdict(float))
    for (comps, p), (dets, obs, _) in zip(split, mechanisms):
        lf = math.log1p(-2 * p)
        for ds, os in comps.values():
            if not ds:
                if os:
                    undetectable = undetectable + p - 2 * undetectable * p
                continue
            if len(ds) <= 2:
                parts = [(ds, os)]
            else:
                parts = _split(ds, os, known) if len(ds) <= _MAX_SPLIT else None
                if parts is None:
                    raise QECError(
                        f"an error mechanism (p={p:.3g}) flips detectors {list(dets)} and "
                        f"observables {list(obs)}; its part {list(ds)} does not split into "
                        "edges that single faults flip, so a matching decoder cannot take it"
                    )
            for eds, eos in parts:
                key = (eds[0], eds[1]) if len(eds) == 2 else (eds[0], -1)
                acc[key][tuple(sorted(eos))] += lf
    edges = []
    conflicts = 0
    for key in sorted(acc):
        options = acc[key]
        if len(options) > 1:
            conflicts += len(options) - 1
        obs, lf = min(options.items(), key=lambda kv: kv[1])  # the most likely
        edges.append((key[0], key[1], obs, float(-math.expm1(lf) / 2)))
    return DetectorErrorModel(
        num_detectors=num_detectors, num_observables=num_observables,
        mechanisms=tuple(mechanisms), edges=tuple(edges), num_faults=num_faults,
        undetectable_probability=float(undetectable), conflicts=conflicts,
    )
