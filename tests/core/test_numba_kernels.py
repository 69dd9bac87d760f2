"""The numba state-vector kernels against the plain numpy kernels and dense references.

References: ``statevector.apply_matrix`` (numpy tensordot) for every gate kernel, with the
matrices of ``kizuna.core.gates``; dense ``embed`` Pauli operators (``<psi|P|psi>`` as
``psi.conj() @ P @ psi``) for the expectation values; a chi-square test for sampling.

Random states on 1..10 qubits (hypothesis, derandomised), both dtypes (complex128 to 1e-12,
complex64 to 1e-5), and a 16-qubit state run with 1 and 2 threads so that the parallel (prange)
path runs. The first run compiles every kernel for both dtypes (about a minute on two cores);
numba's cache makes later runs fast.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

numba = pytest.importorskip("numba")

from kizuna.core._kernels import _numba_sv as K
from kizuna.core._kernels import statevector as npsv
from kizuna.core.gates import embed, gate_matrix

DTYPES = (np.complex128, np.complex64)
TOL = {np.complex128: 1e-12, np.complex64: 1e-5}
MAX_THREADS = numba.config.NUMBA_NUM_THREADS
THREADS = sorted({1, min(2, MAX_THREADS)})
FAST = settings(max_examples=40, deadline=None, derandomize=True)

PAULI = {
    "I": np.eye(2, dtype=np.complex128),
    "X": gate_matrix("x"),
    "Y": gate_matrix("y"),
    "Z": gate_matrix("z"),
}


# --- helpers ------------------------------------------------------------------------------------


def random_state(n, dtype, seed):
    rng = np.random.default_rng(seed)
    psi = rng.normal(size=1 << n) + 1j * rng.normal(size=1 << n)
    return (psi / np.linalg.norm(psi)).astype(dtype)


def random_unitary(k, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(1 << k, 1 << k)) + 1j * rng.normal(size=(1 << k, 1 << k))
    q, r = np.linalg.qr(a)
    return q * (np.diag(r) / np.abs(np.diag(r)))


def reference(state, matrix, qubits):
    """apply_matrix in complex128 (the numpy kernel), whatever the state's dtype."""
    return npsv.apply_matrix(
        state.astype(np.complex128), np.asarray(matrix, np.complex128), qubits
    )


def assert_close(got, want, dtype):
    assert got.dtype == dtype
    np.testing.assert_allclose(got, want, rtol=0, atol=TOL[dtype])


def controlled(base, num_controls):
    """Matrix over (controls..., target), little-endian: base acts where all controls are 1."""
    dim_c = 1 << num_controls
    m = np.eye(2 * dim_c, dtype=np.complex128)
    idx = [dim_c - 1, 2 * dim_c - 1]
    m[np.ix_(idx, idx)] = base
    return m


def pauli_masks(label):
    """x and z masks of a label whose character q acts on qubit q."""
    x = sum(1 << q for q, c in enumerate(label) if c in "XY")
    z = sum(1 << q for q, c in enumerate(label) if c in "ZY")
    return x, z


def dense_pauli(label):
    n = len(label)
    op = np.eye(1 << n, dtype=np.complex128)
    for q, c in enumerate(label):
        op = embed(PAULI[c], [q], n) @ op
    return op


def numpy_pauli_expectation(psi, x, z):
    """<psi|P|psi> from the definition, without dense matrices (for large states)."""
    idx = np.arange(psi.size)
    parity = np.zeros(psi.size, dtype=np.int64)
    v = idx & z
    while np.any(v):
        parity ^= v & 1
        v >>= 1
    ny = (x & z).bit_count()
    psi = psi.astype(np.complex128)
    s = np.sum(np.conj(psi[idx ^ x]) * (1 - 2 * parity) * psi)
    return (1j**ny) * s


@st.composite
def cases(draw, min_qubits=1, arity=1):
    """(n, dtype, seed, qubits) with ``arity`` distinct qubits in random order."""
    n = draw(st.integers(max(min_qubits, arity), 10))
    dtype = draw(st.sampled_from(DTYPES))
    seed = draw(st.integers(0, 2**32 - 1))
    qubits = draw(st.permutations(range(n)))[:arity]
    return n, dtype, seed, list(qubits)


@pytest.fixture(autouse=True)
def _restore_threads():
    before = numba.get_num_threads()
    yield
    numba.set_num_threads(before)


# --- gate kernels on small states ---------------------------------------------------------------


@FAST
@given(cases(), st.sampled_from(THREADS))
def test_apply_1q_matches_apply_matrix(case, threads):
    n, dtype, seed, (q,) = case
    K.set_num_threads(threads)
    psi = random_state(n, dtype, seed)
    u = random_unitary(1, seed + 1)
    got = psi.copy()
    K.apply_1q(got, u.astype(dtype), q)
    assert_close(got, reference(psi, u, [q]), dtype)


@FAST
@given(cases(), st.booleans())
def test_apply_diag_1q_matches_apply_matrix(case, d0_is_one):
    n, dtype, seed, (q,) = case
    psi = random_state(n, dtype, seed)
    d = np.exp(1j * np.random.default_rng(seed).uniform(0, 2 * np.pi, 2))
    if d0_is_one:
        d[0] = 1
    got = psi.copy()
    K.apply_diag_1q(got, dtype(d[0]), dtype(d[1]), q)
    assert_close(got, reference(psi, np.diag(d), [q]), dtype)


@FAST
@given(
    st.integers(1, 4).flatmap(lambda k: st.tuples(st.just(k), cases(arity=k))),
    st.booleans(),
)
def test_apply_diag_matches_apply_matrix(k_case, with_ones):
    k, (n, dtype, seed, qubits) = k_case
    psi = random_state(n, dtype, seed)
    rng = np.random.default_rng(seed)
    d = np.exp(1j * rng.uniform(0, 2 * np.pi, 1 << k))
    if with_ones:  # cz/cp-like entries: the kernel may skip them
        d[rng.random(1 << k) < 0.5] = 1
    got = psi.copy()
    K.apply_diag(got, d.astype(dtype), np.array(qubits, dtype=np.int64))
    assert_close(got, reference(psi, np.diag(d), qubits), dtype)


@FAST
@given(st.integers(1, 4).flatmap(lambda c: st.tuples(st.just(c), cases(arity=c + 1))))
def test_apply_controlled_1q_matches_apply_matrix(c_case):
    c, (n, dtype, seed, qubits) = c_case
    controls, target = qubits[:-1], qubits[-1]
    psi = random_state(n, dtype, seed)
    u = random_unitary(1, seed + 1)
    got = psi.copy()
    K.apply_controlled_1q(
        got, u.astype(dtype), np.array(controls, dtype=np.int64), target
    )
    assert_close(got, reference(psi, controlled(u, c), qubits), dtype)


@FAST
@given(cases(arity=2))
def test_apply_2q_matches_apply_matrix(case):
    n, dtype, seed, (q0, q1) = case
    psi = random_state(n, dtype, seed)
    u = random_unitary(2, seed + 1)
    got = psi.copy()
    K.apply_2q(got, u.astype(dtype), q0, q1)
    assert_close(got, reference(psi, u, [q0, q1]), dtype)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.integers(1, 5).flatmap(lambda k: st.tuples(st.just(k), cases(arity=k))))
def test_apply_kq_matches_apply_matrix(k_case):
    k, (n, dtype, seed, qubits) = k_case
    psi = random_state(n, dtype, seed)
    u = random_unitary(k, seed + 1)
    got = psi.copy()
    K.apply_kq(got, u.astype(dtype), np.array(qubits, dtype=np.int64))
    assert_close(got, reference(psi, u, qubits), dtype)


def test_apply_kq_takes_a_non_unitary_matrix():
    psi = random_state(6, np.complex128, 5)
    m = np.arange(64, dtype=np.complex128).reshape(8, 8) * (1 - 0.5j)
    got = psi.copy()
    K.apply_kq(got, m, np.array([4, 0, 2], dtype=np.int64))
    assert_close(got, reference(psi, m, [4, 0, 2]), np.complex128)


@FAST
@given(cases(arity=1), cases(min_qubits=2, arity=2))
def test_x_cx_swap_match_apply_matrix(case1, case2):
    n, dtype, seed, (q,) = case1
    psi = random_state(n, dtype, seed)
    got = psi.copy()
    K.apply_x(got, q)
    assert got.dtype == dtype
    np.testing.assert_array_equal(
        got, reference(psi, gate_matrix("x"), [q]).astype(dtype)
    )
    n, dtype, seed, (a, b) = case2
    psi = random_state(n, dtype, seed)
    for name, fn in (("cx", K.apply_cx), ("swap", K.apply_swap)):
        got = psi.copy()
        fn(got, a, b)
        np.testing.assert_array_equal(
            got, reference(psi, gate_matrix(name), [a, b]).astype(dtype)
        )


@FAST
@given(
    st.sampled_from(["cx", "ccx", "c3x", "c4x"]).flatmap(
        lambda g: st.tuples(
            st.just(g), cases(arity={"cx": 2, "ccx": 3, "c3x": 4, "c4x": 5}[g])
        )
    )
)
def test_apply_mcx_matches_gate_table(g_case):
    name, (n, dtype, seed, qubits) = g_case
    psi = random_state(n, dtype, seed)
    got = psi.copy()
    K.apply_mcx(got, np.array(qubits[:-1], dtype=np.int64), qubits[-1])
    np.testing.assert_array_equal(
        got, reference(psi, gate_matrix(name), qubits).astype(dtype)
    )


def test_qubit_lists_may_be_tuples():
    psi = random_state(5, np.complex128, 3)
    u = random_unitary(2, 4)
    a, b = psi.copy(), psi.copy()
    K.apply_kq(a, u, (3, 1))
    K.apply_kq(b, u, np.array([3, 1], dtype=np.int64))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "call",
    [
        lambda s: K.apply_1q(s, np.eye(2, dtype=s.dtype), 4),
        lambda s: K.apply_1q(s, np.eye(2, dtype=s.dtype), -1),
        lambda s: K.apply_2q(s, np.eye(4, dtype=s.dtype), 1, 1),
        lambda s: K.apply_kq(s, np.eye(4, dtype=s.dtype), np.array([0, 7])),
        lambda s: K.apply_kq(s, np.eye(8, dtype=s.dtype), np.array([0, 1])),
        lambda s: K.apply_diag(s, np.ones(2, dtype=s.dtype), np.array([0, 1])),
        lambda s: K.apply_controlled_1q(s, np.eye(2, dtype=s.dtype), np.array([2]), 2),
        lambda s: K.apply_mcx(s, np.array([0, 5]), 1),
        lambda s: K.apply_swap(s, 0, 4),
        lambda s: K.collapse(s, 0, 2, 0.5),
        lambda s: K.collapse(s, 0, 0, 0.0),
        lambda s: K.expectation_pauli(s, 16, 0),
        lambda s: K.expectation_pauli_sum(s, [1, 2], [0], [1.0, 1.0]),
    ],
)
def test_bad_arguments_raise_value_error(call):
    with pytest.raises(ValueError):
        call(random_state(4, np.complex128, 0))


# --- measurement --------------------------------------------------------------------------------


@FAST
@given(cases(), st.integers(0, 1))
def test_probability_one_and_collapse_match_numpy(case, outcome):
    n, dtype, seed, (q,) = case
    psi = random_state(n, dtype, seed)
    ref = psi.astype(np.complex128)
    p1 = K.probability_one(psi, q)
    assert abs(p1 - npsv.probability_one(ref, q)) < TOL[dtype]
    p = p1 if outcome == 1 else 1 - p1
    got = psi.copy()
    K.collapse(got, q, outcome, p)
    want = ref.copy()
    npsv.collapse(want, q, outcome, p)
    assert_close(got, want, dtype)


@FAST
@given(cases())
def test_probabilities_are_abs_squared(case):
    n, dtype, seed, _ = case
    psi = random_state(n, dtype, seed)
    p = K.probabilities(psi)
    assert p.dtype == np.float64
    np.testing.assert_allclose(
        p, np.abs(psi.astype(np.complex128)) ** 2, rtol=0, atol=TOL[dtype]
    )
    out = np.full(psi.size, -1.0)
    assert K.probabilities(psi, out) is out
    np.testing.assert_array_equal(out, p)


def test_sample_indices_follow_the_distribution():
    from scipy.stats import chi2

    psi = random_state(4, np.complex128, 11)
    psi[[3, 9]] = 0  # two impossible outcomes
    psi /= np.linalg.norm(psi)
    p = np.abs(psi) ** 2
    shots = 50_000
    rng = np.random.default_rng(2024)
    idx = K.sample_indices(psi, np.sort(rng.random(shots)))
    assert idx.dtype == np.int64 and idx.shape == (shots,)
    counts = np.bincount(idx, minlength=psi.size)
    assert counts[3] == counts[9] == 0
    possible = p > 0
    stat = np.sum((counts[possible] - shots * p[possible]) ** 2 / (shots * p[possible]))
    assert stat < chi2.ppf(0.999, possible.sum() - 1)


def test_sample_indices_clamp_to_last_nonzero_probability():
    # norm a little below 1 and trailing zeros: uniforms past the total get the last index of
    # nonzero probability, never a zero-probability index
    psi = np.zeros(8, dtype=np.complex128)
    psi[1] = 0.5
    psi[4] = np.sqrt(0.75 - 1e-9)
    u = np.array([0.0, 0.2, 0.25, 0.9, 1.0 - 1e-10, np.nextafter(1.0, 0.0)])
    np.testing.assert_array_equal(K.sample_indices(psi, u), [1, 1, 4, 4, 4, 4])
    psi64 = random_state(5, np.complex64, 1)
    psi64[-3:] = 0
    idx = K.sample_indices(psi64, np.array([np.nextafter(1.0, 0.0)] * 3))
    np.testing.assert_array_equal(idx, [28] * 3)
    assert K.sample_indices(psi, np.zeros(0)).shape == (0,)
    with pytest.raises(ValueError):
        K.sample_indices(np.zeros(4, dtype=np.complex128), np.array([0.5]))


# --- Pauli expectation values -------------------------------------------------------------------


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    st.integers(1, 7).flatmap(lambda n: st.text("IXYZ", min_size=n, max_size=n)),
    st.sampled_from(DTYPES),
    st.integers(0, 2**32 - 1),
)
def test_expectation_pauli_matches_dense_operator(label, dtype, seed):
    psi = random_state(len(label), dtype, seed)
    ref = psi.astype(np.complex128)
    want = ref.conj() @ dense_pauli(label) @ ref
    got = K.expectation_pauli(psi, *pauli_masks(label))
    assert isinstance(got, complex)
    assert abs(got - want) < 10 * TOL[dtype]
    assert got.imag == 0


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    st.integers(1, 10),
    st.integers(1, 60),
    st.sampled_from(DTYPES),
    st.integers(0, 2**32 - 1),
)
def test_expectation_pauli_sum_matches_term_by_term(n, num_terms, dtype, seed):
    rng = np.random.default_rng(seed)
    psi = random_state(n, dtype, seed)
    # few distinct x-masks, so that groups are large (Walsh-Hadamard path) and small (direct)
    xs = rng.choice(rng.integers(0, 1 << n, 3), num_terms)
    zs = rng.integers(0, 1 << n, num_terms)
    coeffs = rng.normal(size=num_terms)
    want = sum(
        c * numpy_pauli_expectation(psi, x, z).real for x, z, c in zip(xs, zs, coeffs)
    )
    got = K.expectation_pauli_sum(psi, xs, zs, coeffs)
    assert isinstance(got, float)
    assert abs(got - want) < 10 * TOL[dtype] * max(1.0, np.abs(coeffs).sum())


def test_expectation_pauli_sum_of_a_small_hamiltonian():
    # H = Z0 Z1 + 0.5 X0 X1 - 0.25 Y0 Y1 + 0.1 Z2 on |psi>; dense reference
    labels = {"ZZI": 1.0, "XXI": 0.5, "YYI": -0.25, "IIZ": 0.1, "XIY": 0.3}
    psi = random_state(3, np.complex128, 9)
    dense = sum(c * dense_pauli(lab) for lab, c in labels.items())
    masks = [pauli_masks(lab) for lab in labels]
    got = K.expectation_pauli_sum(
        psi, [m[0] for m in masks], [m[1] for m in masks], list(labels.values())
    )
    assert abs(got - (psi.conj() @ dense @ psi).real) < 1e-12
    assert K.expectation_pauli_sum(psi, [], [], []) == 0.0


# --- the parallel path: 19 qubits (every kernel above its serial threshold), 1 and 2 threads ---

N_LARGE = 19


@pytest.fixture(scope="module")
def large_states():
    return {dt: random_state(N_LARGE, dt, 16) for dt in DTYPES}


def _gate_cases(n):
    u1, u2, u3, u5 = (random_unitary(k, 100 + k) for k in (1, 2, 3, 5))
    d = np.exp(1j * np.linspace(0.1, 2.0, 8))
    d[2] = 1
    return [
        ("1q q=0", lambda s: K.apply_1q(s, u1.astype(s.dtype), 0), (u1, [0])),
        ("1q q=9", lambda s: K.apply_1q(s, u1.astype(s.dtype), 9), (u1, [9])),
        (
            "diag_1q",
            lambda s: K.apply_diag_1q(s, s.dtype.type(1), s.dtype.type(d[1]), 3),
            (np.diag([1, d[1]]), [3]),
        ),
        (
            "diag",
            lambda s: K.apply_diag(s, d.astype(s.dtype), np.array([1, 12, 6])),
            (np.diag(d), [1, 12, 6]),
        ),
        (
            "controlled_1q",
            lambda s: K.apply_controlled_1q(
                s, u1.astype(s.dtype), np.array([0, 7]), 15
            ),
            (controlled(u1, 2), [0, 7, 15]),
        ),
        ("2q", lambda s: K.apply_2q(s, u2.astype(s.dtype), 13, 2), (u2, [13, 2])),
        (
            "kq k=3",
            lambda s: K.apply_kq(s, u3.astype(s.dtype), np.array([5, 0, 14])),
            (u3, [5, 0, 14]),
        ),
        (
            "kq k=5",
            lambda s: K.apply_kq(s, u5.astype(s.dtype), np.array([8, 9, 10, 11, 12])),
            (u5, [8, 9, 10, 11, 12]),
        ),
        ("x", lambda s: K.apply_x(s, 11), (gate_matrix("x"), [11])),
        ("cx", lambda s: K.apply_cx(s, 15, 0), (gate_matrix("cx"), [15, 0])),
        ("swap", lambda s: K.apply_swap(s, 3, 10), (gate_matrix("swap"), [3, 10])),
        (
            "c3x",
            lambda s: K.apply_mcx(s, np.array([1, 14, 6]), 4),
            (gate_matrix("c3x"), [1, 14, 6, 4]),
        ),
    ]


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["c128", "c64"])
@pytest.mark.parametrize("name", [c[0] for c in _gate_cases(N_LARGE)])
def test_parallel_path_matches_apply_matrix(large_states, name, dtype, threads):
    K.set_num_threads(threads)
    psi = large_states[dtype]
    _, fn, (op, qubits) = next(c for c in _gate_cases(N_LARGE) if c[0] == name)
    got = psi.copy()
    fn(got)
    assert_close(got, reference(psi, op, qubits), dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["c128", "c64"])
def test_reductions_on_the_parallel_path_do_not_depend_on_threads(large_states, dtype):
    psi = large_states[dtype]
    ref = psi.astype(np.complex128)
    rng = np.random.default_rng(7)
    # group sizes 12 (Walsh-Hadamard path), 3 and 1 (direct path)
    xs = np.repeat(rng.integers(0, 1 << N_LARGE, 4), [12, 12, 3, 1])
    zs = rng.integers(0, 1 << N_LARGE, xs.size)
    coeffs = rng.normal(size=xs.size)
    results = []
    for threads in THREADS:
        K.set_num_threads(threads)
        collapsed = psi.copy()
        p1 = K.probability_one(psi, 9)
        K.collapse(collapsed, 9, 1, p1)
        results.append(
            (
                p1,
                K.expectation_pauli(psi, int(xs[0]), int(zs[0])),
                K.expectation_pauli(psi, 0, int(zs[1])),
                K.expectation_pauli_sum(psi, xs, zs, coeffs),
                K.probabilities(psi),
                collapsed,
            )
        )
    p1, e1, e0, esum, probs, collapsed = results[0]
    for other in results[1:]:  # bitwise the same for any thread count
        assert other[:4] == (p1, e1, e0, esum)
        np.testing.assert_array_equal(other[4], probs)
        np.testing.assert_array_equal(other[5], collapsed)
    tol = TOL[dtype]
    assert abs(p1 - npsv.probability_one(ref, 9)) < tol
    assert abs(e1 - numpy_pauli_expectation(ref, int(xs[0]), int(zs[0]))) < 10 * tol
    assert abs(e0 - numpy_pauli_expectation(ref, 0, int(zs[1]))) < 10 * tol
    want = sum(
        c * numpy_pauli_expectation(ref, x, z).real for x, z, c in zip(xs, zs, coeffs)
    )
    assert abs(esum - want) < 10 * tol * np.abs(coeffs).sum()
    np.testing.assert_allclose(probs, np.abs(ref) ** 2, rtol=0, atol=tol)
    want_c = ref.copy()
    npsv.collapse(want_c, 9, 1, p1)
    assert_close(collapsed, want_c, dtype)


def test_import_kizuna_does_not_import_numba():
    code = "import sys, kizuna; sys.exit('numba' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_stale_kernel_caches_are_dropped_when_any_kernel_source_changes(tmp_path):
    # numba's cache=True tracks only a kernel's own file; kernels compiled from another
    # module's functions must be dropped when that module changes (a stale cache segfaulted)
    import os

    from kizuna.core._kernels import drop_stale_caches

    sv, dm = tmp_path / "_numba_sv.py", tmp_path / "_numba_dm.py"
    sv.write_text("a = 1\n")
    dm.write_text("b = 1\n")
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    cached = cache / "_numba_dm.run_branch-1.py311.nbi"
    other = cache / "unrelated.cpython-311.pyc"
    other.write_text("x")
    assert drop_stale_caches(tmp_path)  # first sight: no fingerprint yet
    cached.write_text("compiled")
    assert not drop_stale_caches(tmp_path) and cached.exists()  # nothing changed
    sv.write_text("a = 2  # an edit in the module the cached kernel calls into\n")
    os.utime(sv, ns=(sv.stat().st_atime_ns, sv.stat().st_mtime_ns + 10**9))
    assert drop_stale_caches(tmp_path)
    assert not cached.exists() and other.exists()
