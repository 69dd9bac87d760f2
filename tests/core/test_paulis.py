"""Pauli strings and sums against Qiskit, dense matrices and the Pauli algebra.

References:
* ``qiskit.quantum_info.Pauli`` and ``SparsePauliOp`` (labels with phase prefixes, x/z arrays,
  ``to_matrix``, ``dot``, ``commutes``, ``simplify``, ``from_list``, ``from_sparse_list``,
  ``tensor``; ``Statevector.expectation_value``): the peer for the label convention (rightmost
  character on qubit 0), the little-endian matrices and product phases.
* The Pauli algebra ``sigma_a sigma_b = delta_ab I + i eps_abc sigma_c`` (Nielsen & Chuang,
  *Quantum Computation and Quantum Information*, 2010, eq. 2.40-2.43 and ex. 2.41): every string
  squares to the identity, two strings commute or anticommute, ``XY = iZ``.
* Dense numpy: ``Tr(rho H)`` as ``np.trace(rho @ H)`` and ``<psi|H|psi>`` as ``psi^† H psi``
  with the matrices of Qiskit's ``SparsePauliOp.to_matrix`` (independent of Kizuna's).
* Hypothesis properties: ``P^2 = c^2 I``, commutation iff the matrices commute, Hermiticity iff
  the matrix is Hermitian, arithmetic = matrix arithmetic.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.core import paulis as kp
from kizuna.core.paulis import Pauli, PauliError, PauliSum
from kizuna.errors import KizunaError

qi = pytest.importorskip("qiskit.quantum_info")

FAST = settings(max_examples=60, deadline=None, derandomize=True)
ATOL = 1e-12

letters = st.sampled_from("IXYZ")


def labels(min_size=1, max_size=5):
    return st.lists(letters, min_size=min_size, max_size=max_size).map("".join)


def label_pairs(max_size=5):
    return st.integers(1, max_size).flatmap(
        lambda n: st.tuples(labels(n, n), labels(n, n))
    )


coeffs = st.complex_numbers(max_magnitude=3, allow_nan=False, allow_infinity=False)
phases = st.sampled_from(["", "+", "-", "i", "-i", "j", "-j", "+i"])


def random_sum(rng, n, terms, *, complex_coeffs=False):
    labels_ = ["".join(rng.choice(list("IXYZ"), n)) for _ in range(terms)]
    cs = rng.normal(size=terms)
    if complex_coeffs:
        cs = cs + 1j * rng.normal(size=terms)
    return PauliSum.from_list(list(zip(labels_, cs.tolist())))


def qiskit_op(h: PauliSum):
    return qi.SparsePauliOp.from_list([(t.label, t.coeff) for t in h.terms], num_qubits=h.num_qubits)


def random_state(rng, n):
    psi = rng.normal(size=1 << n) + 1j * rng.normal(size=1 << n)
    return psi / np.linalg.norm(psi)


def random_density_matrix(rng, n, rank=None):
    d = 1 << n
    g = rng.normal(size=(d, rank or d)) + 1j * rng.normal(size=(d, rank or d))
    rho = g @ g.conj().T
    return rho / np.trace(rho)


# --- labels, masks, matrices ----------------------------------------------------------------------
@FAST
@given(label=labels(1, 6), phase=phases)
def test_label_matrix_and_masks_match_qiskit(label, phase):
    ours = Pauli(phase + label)
    theirs = qi.Pauli(phase + label)
    np.testing.assert_allclose(ours.to_matrix(), theirs.to_matrix(), atol=ATOL)
    assert ours.label == label
    assert ours.x_mask == sum(1 << q for q, b in enumerate(theirs.x) if b)
    assert ours.z_mask == sum(1 << q for q, b in enumerate(theirs.z) if b)
    assert ours.weight == sum(ch != "I" for ch in label)
    assert ours.support == tuple(q for q in range(len(label)) if label[::-1][q] != "I")


def test_rightmost_character_acts_on_qubit_zero():
    # X on qubit 0 flips the least significant bit: |0> -> |1> is column 0 -> row 1
    m = Pauli("IX").to_matrix()
    assert m[1, 0] == 1 and m[2, 0] == 0
    zi = Pauli("ZI").to_matrix()  # Z on qubit 1: basis index 2 (qubit 1 set) gets -1
    np.testing.assert_array_equal(np.diag(zi).real, [1, 1, -1, -1])


@FAST
@given(label=labels(1, 6), c=coeffs)
def test_from_sparse_and_from_masks_rebuild_the_string(label, c):
    p = Pauli(label, c)
    n = len(label)
    sparse = {q: label[n - 1 - q] for q in range(n) if label[n - 1 - q] != "I"}
    assert Pauli.from_sparse(sparse, n, c) == p
    assert Pauli.from_masks(p.x_mask, p.z_mask, n, c) == p


def test_phase_prefixes_fold_into_the_coefficient():
    assert Pauli("-iXZ") == Pauli("XZ", -1j)
    assert Pauli("jY", 2) == Pauli("Y", 2j)
    assert Pauli("+Z").coeff == 1 and Pauli("-Z").coeff == -1
    assert Pauli("I").label == "I" and Pauli("i").num_qubits == 0  # upper I is a letter, lower i a phase


@FAST
@given(pair=label_pairs(), a=coeffs, b=coeffs)
def test_products_match_matrix_products_and_qiskit_dot(pair, a, b):
    p, q = Pauli(pair[0], a), Pauli(pair[1], b)
    pq = p @ q
    np.testing.assert_allclose(pq.to_matrix(), p.to_matrix() @ q.to_matrix(), atol=1e-10)
    assert p * q == pq
    theirs = qi.Pauli(pair[0]).dot(qi.Pauli(pair[1]))
    unit = Pauli(pair[0]) @ Pauli(pair[1])
    np.testing.assert_allclose(unit.to_matrix(), theirs.to_matrix(), atol=ATOL)


def test_single_qubit_products_follow_the_pauli_algebra():
    # sigma_a sigma_b = i eps_abc sigma_c for a != b (Nielsen & Chuang eq. 2.40-2.43)
    assert Pauli("X") @ Pauli("Y") == Pauli("iZ")
    assert Pauli("Y") @ Pauli("Z") == Pauli("iX")
    assert Pauli("Z") @ Pauli("X") == Pauli("iY")
    assert Pauli("Y") @ Pauli("X") == Pauli("-iZ")
    assert Pauli("XZ") @ Pauli("ZX") == Pauli("YY")  # qubit 1: XZ = -iY, qubit 0: ZX = iY
    for a in "IXYZ":
        assert Pauli(a) @ Pauli(a) == Pauli("I")


@FAST
@given(label=labels(1, 6), c=coeffs)
def test_square_is_the_identity_times_the_coefficient_squared(label, c):
    p = Pauli(label, c)
    sq = p @ p
    assert sq.label == "I" * len(label)
    assert abs(sq.coeff - c * c) <= 1e-12 * max(1, abs(c) ** 2)
    np.testing.assert_allclose(p.adjoint().to_matrix(), p.to_matrix().conj().T, atol=ATOL)


@FAST
@given(pair=label_pairs())
def test_commutes_iff_the_matrices_commute(pair):
    p, q = Pauli(pair[0]), Pauli(pair[1])
    a, b = p.to_matrix(), q.to_matrix()
    commute = np.allclose(a @ b, b @ a, atol=ATOL)
    assert p.commutes(q) == commute == qi.Pauli(pair[0]).commutes(qi.Pauli(pair[1]))
    if not commute:  # Pauli strings that do not commute anticommute
        np.testing.assert_allclose(a @ b, -(b @ a), atol=ATOL)
    per_qubit = all(x == "I" or y == "I" or x == y for x, y in zip(pair[0], pair[1]))
    assert p.qubitwise_commutes(q) == per_qubit
    if per_qubit:
        assert commute


def test_tensor_matches_kron_and_qiskit():
    p, q = Pauli("XY", 2), Pauli("-Z")
    np.testing.assert_allclose(p.tensor(q).to_matrix(), np.kron(p.to_matrix(), q.to_matrix()), atol=ATOL)
    a, b = PauliSum({"XI": 1, "ZY": 0.5j}), PauliSum({"X": 2, "Z": -1})
    np.testing.assert_allclose(a.tensor(b).to_matrix(), qiskit_op(a).tensor(qiskit_op(b)).to_matrix(), atol=ATOL)


# --- sums ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
def test_sum_matrix_and_sparse_matrix_match_qiskit(seed):
    rng = np.random.default_rng(seed)
    n = 1 + seed % 5
    h = random_sum(rng, n, 12, complex_coeffs=seed % 2 == 1)
    want = qiskit_op(h).to_matrix()
    np.testing.assert_allclose(h.to_matrix(), want, atol=ATOL)
    np.testing.assert_allclose(h.to_sparse().toarray(), want, atol=ATOL)
    sparse_theirs = qiskit_op(h).to_matrix(sparse=True)
    assert abs(h.to_sparse() - sparse_theirs).max() < 1e-12


@pytest.mark.parametrize("seed", range(6))
def test_simplify_matches_qiskit(seed):
    rng = np.random.default_rng(100 + seed)
    n = 1 + seed % 3
    h = random_sum(rng, n, 25, complex_coeffs=True)
    # exact cancellations and repeats
    h = h + PauliSum([h.terms[0], -h.terms[1], h.terms[2]]) + (-h.terms[3])
    ours = h.simplify()
    theirs = qiskit_op(h).simplify(atol=1e-12)
    got = dict(zip(ours.labels, ours.coeffs))
    want = {} if np.allclose(theirs.coeffs, 0) else dict(zip(theirs.paulis.to_labels(), theirs.coeffs))
    assert got.keys() == want.keys()
    for k, v in got.items():
        assert abs(v - want[k]) < 1e-12
    assert len(set(ours.labels)) == len(ours)
    assert h.equiv(ours) and not h.equiv(ours + 1e-6)


def test_simplify_drops_cancelled_terms_and_keeps_the_width():
    z = (Pauli("XZ") - Pauli("XZ")).simplify()
    assert len(z) == 0 and z.num_qubits == 2
    np.testing.assert_array_equal(z.to_matrix(), np.zeros((4, 4)))
    assert z.expectation_statevector(np.array([1, 0, 0, 0])) == 0


@FAST
@given(
    pair=label_pairs(4),
    a=coeffs,
    b=coeffs,
    s=st.complex_numbers(min_magnitude=0.1, max_magnitude=3, allow_nan=False, allow_infinity=False),
)
def test_sum_arithmetic_matches_matrix_arithmetic(pair, a, b, s):
    x = PauliSum([Pauli(pair[0], a), Pauli(pair[1], b)])
    y = PauliSum({pair[1]: s, pair[0]: 1.0})
    mx, my = x.to_matrix(), y.to_matrix()
    eye = np.eye(mx.shape[0])
    np.testing.assert_allclose((x + y).to_matrix(), mx + my, atol=1e-10)
    np.testing.assert_allclose((x - y).to_matrix(), mx - my, atol=1e-10)
    np.testing.assert_allclose((x @ y).to_matrix(), mx @ my, atol=1e-10)
    np.testing.assert_allclose((x * y).to_matrix(), mx @ my, atol=1e-10)
    np.testing.assert_allclose((s * x).to_matrix(), s * mx, atol=1e-10)
    np.testing.assert_allclose((x * s).to_matrix(), s * mx, atol=1e-10)
    np.testing.assert_allclose((x / s).to_matrix(), mx / s, atol=1e-10)
    np.testing.assert_allclose((-x).to_matrix(), -mx, atol=1e-10)
    np.testing.assert_allclose((x + 2.5).to_matrix(), mx + 2.5 * eye, atol=1e-10)
    np.testing.assert_allclose((1 - x).to_matrix(), eye - mx, atol=1e-10)
    np.testing.assert_allclose(x.adjoint().to_matrix(), mx.conj().T, atol=1e-10)
    np.testing.assert_allclose((Pauli(pair[0]) @ y).to_matrix(), Pauli(pair[0]).to_matrix() @ my, atol=1e-10)
    np.testing.assert_allclose((Pauli(pair[0]) + Pauli(pair[1], b)).to_matrix(),
                               Pauli(pair[0]).to_matrix() + b * Pauli(pair[1]).to_matrix(), atol=1e-10)


def test_python_sum_adds_no_identity_term():
    h = sum([Pauli("XZ"), Pauli("ZZ", 0.5)])
    assert h.labels == ("XZ", "ZZ")


@FAST
@given(label_list=st.lists(labels(3, 3), min_size=1, max_size=5), data=st.data())
def test_is_hermitian_iff_the_matrix_is_hermitian(label_list, data):
    cs = [data.draw(st.sampled_from([1.0, -0.5, 2j, 1 + 1j, 0.25 - 0.5j])) for _ in label_list]
    h = PauliSum.from_list(list(zip(label_list, cs)))
    m = h.to_matrix()
    assert h.is_hermitian() == bool(np.allclose(m, m.conj().T, atol=1e-10))
    assert (h + h.adjoint()).is_hermitian()


def test_from_list_and_from_sparse_list_match_qiskit():
    pairs = [("XIZ", 1.0), ("YYI", -0.5j), ("IZZ", 2)]
    ours = PauliSum.from_list(pairs)
    np.testing.assert_allclose(ours.to_matrix(), qi.SparsePauliOp.from_list(pairs).to_matrix(), atol=ATOL)
    triples = [("ZX", [1, 4], 1.5), ("Y", [2], -1.0), ("XXY", [0, 3, 1], 0.5)]
    ours = PauliSum.from_sparse_list(triples, num_qubits=5)
    theirs = qi.SparsePauliOp.from_sparse_list(triples, num_qubits=5)
    assert ours.labels == tuple(theirs.paulis.to_labels())
    np.testing.assert_allclose(ours.coeffs, theirs.coeffs, atol=ATOL)


def test_masks_coeffs_and_constructors_agree():
    h = PauliSum(["XYZ", ("ZII", 2.0), Pauli("IIY", -1j)])
    assert h.x_masks.tolist() == [0b110, 0, 0b001]
    assert h.z_masks.tolist() == [0b011, 0b100, 0b001]
    np.testing.assert_array_equal(h.coeffs, [1, 2, -1j])
    assert h.x_masks.dtype == np.int64 and not h.x_masks.flags.writeable
    assert PauliSum(h) == h and PauliSum("XYZ") == PauliSum([Pauli("XYZ")])
    assert PauliSum({"XYZ": 1, "ZII": 2}) == PauliSum.from_list([("XYZ", 1), ("ZII", 2)])
    assert PauliSum([], num_qubits=3).num_qubits == 3


# --- grouping ------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(5))
def test_groups_partition_the_terms_into_commuting_sets(seed):
    rng = np.random.default_rng(200 + seed)
    h = random_sum(rng, 5, 40)
    for qubit_wise in (True, False):
        groups = h.group_indices(qubit_wise=qubit_wise)
        assert sorted(t for g in groups for t in g) == list(range(len(h)))
        assert groups == h.group_indices(qubit_wise=qubit_wise)  # deterministic
        check = Pauli.qubitwise_commutes if qubit_wise else Pauli.commutes
        for g in groups:
            for a, b in itertools.combinations(g, 2):
                assert check(h.terms[a], h.terms[b]), (h.terms[a], h.terms[b])
        sums = h.group_commuting(qubit_wise=qubit_wise)
        assert [s.labels for s in sums] == [tuple(h.terms[t].label for t in g) for g in groups]
    # general commutation is coarser than qubit-wise: never more groups
    assert len(h.group_indices(False)) <= len(h.group_indices(True))


def test_qubitwise_groups_of_a_small_sum():
    h = PauliSum(["ZZ", "XX", "ZI", "YY", "IX", "IZ"])
    assert h.group_indices() == [[0, 2, 5], [1, 4], [3]]
    # all of them commute as operators except with ZI / IZ / IX: XX, YY, ZZ form one group
    assert [0, 1, 3] in h.group_indices(qubit_wise=False)


# --- expectation values --------------------------------------------------------------------------
@pytest.fixture(params=["numba", "numpy"])
def kernels(request, monkeypatch):
    """Run a test with the numba kernel and again with the numpy fallback."""
    kp._numba_kernels.cache_clear()
    if request.param == "numpy":
        monkeypatch.setenv("KIZUNA_NUMBA", "0")
    else:
        pytest.importorskip("numba")
        monkeypatch.delenv("KIZUNA_NUMBA", raising=False)
    yield request.param
    kp._numba_kernels.cache_clear()


@pytest.mark.parametrize("seed", range(8))
def test_statevector_expectation_matches_dense_and_qiskit(seed, kernels):
    rng = np.random.default_rng(300 + seed)
    n = 1 + seed % 7
    h = random_sum(rng, n, 3 + 7 * (seed % 3), complex_coeffs=seed % 4 == 3)
    psi = random_state(rng, n)
    assert (kp._numba_kernels() is None) == (kernels == "numpy")
    want = psi.conj() @ qiskit_op(h).to_matrix() @ psi
    got = h.expectation_statevector(psi)
    assert abs(got - want) < 1e-10
    if h.is_hermitian():
        assert abs(got - qi.Statevector(psi).expectation_value(qiskit_op(h))) < 1e-10
    single = h.expectation_statevector(psi.astype(np.complex64))
    assert abs(single - want) < 1e-4 * max(1, np.abs(h.coeffs).sum())
    terms = h.term_expectations_statevector(psi)
    for t, p in enumerate(h.terms):
        assert abs(terms[t] - (psi.conj() @ qi.Pauli(p.label).to_matrix() @ psi).real) < 1e-10


@pytest.mark.parametrize("seed", range(6))
def test_density_matrix_expectation_matches_dense_trace(seed):
    rng = np.random.default_rng(400 + seed)
    n = 1 + seed % 6
    # few terms per x-mask take masked sums; many take the Walsh-Hadamard path
    h = random_sum(rng, n, 4 if seed < 3 else 60, complex_coeffs=seed % 2 == 0)
    rho = random_density_matrix(rng, n, rank=1 + seed % 3)
    dense = qiskit_op(h).to_matrix()
    assert abs(h.expectation_density_matrix(rho) - np.trace(rho @ dense)) < 1e-10
    traces = h.term_expectations_density_matrix(rho)
    for t, p in enumerate(h.terms):
        assert abs(traces[t] - np.trace(rho @ qi.Pauli(p.label).to_matrix())) < 1e-10
    if h.is_hermitian():
        assert abs(h.expectation_density_matrix(rho) - qi.DensityMatrix(rho).expectation_value(qiskit_op(h))) < 1e-10


@FAST
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 4), num_terms=st.integers(1, 30))
def test_trace_routine_matches_dense_on_random_density_matrices(seed, n, num_terms):
    rng = np.random.default_rng(seed)
    h = random_sum(rng, n, num_terms, complex_coeffs=True)
    rho = random_density_matrix(rng, n)
    want = np.trace(rho @ h.to_matrix())
    assert abs(h.expectation_density_matrix(rho) - want) < 1e-10
    # a pure state's density matrix gives the state-vector value
    psi = random_state(rng, n)
    assert abs(h.expectation_density_matrix(np.outer(psi, psi.conj())) - h.expectation_statevector(psi)) < 1e-10


def test_density_matrix_expectation_reads_a_transposed_view():
    rng = np.random.default_rng(5)
    rho = random_density_matrix(rng, 3)
    h = random_sum(rng, 3, 10)
    view = np.ascontiguousarray(rho.T).T  # same values, Fortran order (as the simulator returns)
    assert not view.flags.c_contiguous
    assert abs(h.expectation_density_matrix(view) - h.expectation_density_matrix(rho)) < 1e-13


def test_thousand_term_hamiltonian_on_twelve_qubits_matches_qiskit(kernels):
    rng = np.random.default_rng(12)
    n = 12
    h = random_sum(rng, n, 1000)
    psi = random_state(rng, n)
    want = qi.Statevector(psi).expectation_value(qiskit_op(h))
    assert abs(h.expectation_statevector(psi) - want) < 1e-9


def test_thousand_term_hamiltonian_on_a_ten_qubit_density_matrix():
    rng = np.random.default_rng(10)
    n = 10
    h = random_sum(rng, n, 1000)
    a, b = random_state(rng, n), random_state(rng, n)
    rho = 0.7 * np.outer(a, a.conj()) + 0.3 * np.outer(b, b.conj())
    m = qiskit_op(h).to_matrix(sparse=True)
    want = 0.7 * (a.conj() @ (m @ a)) + 0.3 * (b.conj() @ (m @ b))
    assert abs(h.expectation_density_matrix(rho) - want) < 1e-9


# --- serialisation and printing --------------------------------------------------------------------
def test_json_round_trips_and_hashes():
    p = Pauli("-iXYZ", 0.5)
    assert Pauli.from_dict(json.loads(json.dumps(p.to_dict()))) == p
    h = PauliSum.from_list([("XX", 1.0), ("ZI", -0.25j), ("XX", 2)])
    back = PauliSum.from_dict(json.loads(json.dumps(h.to_dict())))
    assert back == h and back.sha256() == h.sha256()
    assert PauliSum.from_dict(PauliSum([], num_qubits=4).to_dict()) == PauliSum([], num_qubits=4)
    assert (h * 1.0000001).sha256() != h.sha256()
    assert PauliSum({"XX": -0.0}).sha256() == PauliSum({"XX": 0.0}).sha256()


def test_str_and_repr_read_back():
    h = PauliSum.from_list([("XX", 1.0), ("ZI", -0.25j), ("YY", 1 + 2j), ("IZ", -3)])
    assert eval(repr(h), {"PauliSum": PauliSum}) == h
    for p in (Pauli("XZ"), Pauli("-XZ"), Pauli("iXZ"), Pauli("-iXZ")):
        assert Pauli(str(p)) == p
        assert eval(repr(p), {"Pauli": Pauli}) == p
    assert str(h) == "XX - 0.25j*ZI + (1+2j)*YY - 3.0*IZ"
    assert hash(Pauli("XZ", 2)) == hash(Pauli("XZ", 2.0))


# --- bad input -------------------------------------------------------------------------------------
@pytest.mark.parametrize("label, where", [("XAZ", "'A' at position 1"), ("xz", "'x' at position 0"),
                                          ("X Z", "' ' at position 1"), ("--X", "'-' at position 1"),
                                          ("Xi", "'i' at position 1")])
def test_bad_labels_name_the_character(label, where):
    with pytest.raises(PauliError, match=where):
        Pauli(label)


@pytest.mark.parametrize("make, match", [
    (lambda: Pauli(5), "label must be a string"),
    (lambda: Pauli("X", "1"), "coeff must be a number"),
    (lambda: Pauli("X", float("nan")), "finite"),
    (lambda: Pauli("X", True), "coeff must be a number"),
    (lambda: PauliSum(["XX", "Z"]), "same number of qubits.*'XX' has 2.*'Z' has 1"),
    (lambda: PauliSum(["XX"], num_qubits=3), "num_qubits=3 disagrees"),
    (lambda: PauliSum([]), "empty PauliSum needs num_qubits"),
    (lambda: PauliSum([1, 2]), "Pauli objects, labels or"),
    (lambda: PauliSum(3.0), "terms must be"),
    (lambda: PauliSum.from_list([("XX",)]), "pairs"),
    (lambda: PauliSum.from_sparse_list([("XY", [0], 1)], 2), "differ in length"),
    (lambda: PauliSum.from_sparse_list([("XY", [0, 0], 1)], 2), "repeat"),
    (lambda: Pauli.from_sparse({3: "X"}, 3), "qubit 3 is out of range"),
    (lambda: Pauli.from_sparse({0: "Q"}, 3), "one of I, X, Y, Z"),
    (lambda: Pauli.from_masks(8, 0, 3), "x_mask must be .* below 2\\*\\*3"),
    (lambda: Pauli("XX") @ Pauli("X"), "2-qubit Pauli .* 1-qubit"),
    (lambda: Pauli("XX").commutes(Pauli("X")), "2-qubit"),
    (lambda: PauliSum("XX") + PauliSum("X"), "2-qubit PauliSum and a 1-qubit"),
    (lambda: Pauli("X") / 0, "divide"),
    (lambda: PauliSum("X") / 0, "divide"),
    (lambda: PauliSum.from_dict({"terms": []}), "needs 'num_qubits' and 'terms'"),
    (lambda: PauliSum.from_dict({"num_qubits": 1, "terms": [["X"]]}), "stored as"),
    (lambda: Pauli.from_dict({"coeff": 1}), "needs a 'label'"),
    (lambda: PauliSum("XX").expectation_statevector(np.ones(8)), "shape \\(4,\\)"),
    (lambda: PauliSum("XX").expectation_density_matrix(np.ones(4)), "shape \\(4, 4\\)"),
    (lambda: PauliSum("X").expectation_statevector(np.array(["a", "b"])), "numbers"),
    (lambda: PauliSum({"XX": 1j, "ZZ": 1.0}).as_observable(), "Hermitian: term 'XX' has the non-real coefficient 1j"),
])
def test_bad_input_raises_a_clear_error(make, match):
    with pytest.raises(PauliError, match=match) as info:
        make()
    assert isinstance(info.value, KizunaError) and isinstance(info.value, ValueError)


def test_unsupported_operand_types_raise_type_errors():
    with pytest.raises(TypeError):
        Pauli("X") + "Y"
    with pytest.raises(TypeError):
        PauliSum("X") @ 2


def test_as_observable_merges_before_checking_hermiticity():
    h = PauliSum.from_list([("XX", 1 + 1j), ("ZZ", 2), ("XX", -1j)])
    obs = h.as_observable()
    assert obs == PauliSum.from_list([("XX", 1.0), ("ZZ", 2.0)])
    assert h.as_observable() is obs  # cached
