"""Bit order, seed handling and the memory guard.

References: Qiskit's bit-order convention (qubit k has weight 2**k; ``Statevector`` labels and
counts print bit 0 rightmost) and its own counts formatter
``qiskit.result.postprocess.format_counts_memory`` (registers space separated, last register
leftmost); NumPy's ``default_rng`` seeding (NEP 19).
"""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.quantum_info import Statevector
from qiskit.result.postprocess import format_counts_memory

from kizuna.core import _memory
from kizuna.core.bits import bits_to_index, bitstring, index_to_bits, registers_bitstring
from kizuna.core.random import resolve_seed
from kizuna.errors import MemoryLimitError, SimulationError


# --- bits ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 3, 6])
def test_index_bits_round_trip_for_every_index(n):
    for i in range(2**n):
        bits = index_to_bits(i, n)
        assert bits_to_index(bits) == i
        assert bits == [(i >> k) & 1 for k in range(n)]


@pytest.mark.parametrize("n", [1, 2, 4])
def test_bitstring_matches_qiskit_statevector_labels(n):
    # Statevector.from_label(label) is the basis state with bit 0 the rightmost character.
    for i in range(2**n):
        label = bitstring(i, n)
        assert int(np.argmax(np.abs(Statevector.from_label(label).data))) == i


def test_bitstring_of_zero_bits_is_empty():
    assert bitstring(0, 0) == ""


@pytest.mark.parametrize("sizes", [[1], [2, 1], [1, 2], [3, 1, 2], [1, 1, 1, 1]])
def test_registers_bitstring_matches_qiskit_counts_formatter(sizes):
    header = {"creg_sizes": [[f"r{i}", s] for i, s in enumerate(sizes)], "memory_slots": sum(sizes)}
    for value in range(2 ** sum(sizes)):
        assert registers_bitstring(value, sizes) == format_counts_memory(hex(value), header)


# --- seeds ---------------------------------------------------------------------------------------
def test_integer_seed_is_recorded_and_reproducible():
    rng_a, seed_a = resolve_seed(12345)
    rng_b, seed_b = resolve_seed(12345)
    assert seed_a == seed_b == 12345
    assert np.array_equal(rng_a.random(10), rng_b.random(10))
    assert np.array_equal(resolve_seed(12345)[0].random(10), np.random.default_rng(12345).random(10))


def test_none_seed_records_a_fresh_seed_that_reproduces_the_stream():
    rng, recorded = resolve_seed(None)
    assert isinstance(recorded, int) and recorded >= 0
    draws = rng.random(5)
    assert np.array_equal(resolve_seed(recorded)[0].random(5), draws)
    assert resolve_seed(None)[1] != recorded  # fresh entropy each call


def test_generator_seed_is_used_as_is_and_not_recorded():
    gen = np.random.default_rng(3)
    rng, recorded = resolve_seed(gen)
    assert rng is gen and recorded is None


@pytest.mark.parametrize("bad", [-1, 1.5, "7", True])
def test_bad_seed_is_refused_naming_the_value(bad):
    with pytest.raises(ValueError, match="seed must be"):
        resolve_seed(bad)


def test_numpy_integer_seed_is_accepted():
    assert resolve_seed(np.int64(4))[1] == 4


# --- memory guard --------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("1024", 1024), ("1KiB", 1024), ("1MiB", 2**20), ("2GiB", 2 * 2**30), ("8GB", 8 * 10**9),
    ("0.5 MiB", 2**19), ("  3kb ", 3000),
])
def test_memory_limit_sizes_parse_with_units(text, expected):
    assert _memory._parse_bytes(text) == expected


@pytest.mark.parametrize("text", ["lots", "1ZiB", "-5", ""])
def test_bad_memory_limit_is_refused_naming_the_variable(text):
    with pytest.raises(ValueError, match="KIZUNA_MEMORY_LIMIT"):
        _memory._parse_bytes(text)


def test_environment_limit_caps_available_memory(monkeypatch):
    monkeypatch.setenv("KIZUNA_MEMORY_LIMIT", "1MiB")
    assert _memory.available_memory_bytes() == 2**20


def test_format_bytes_uses_binary_units():
    assert _memory.format_bytes(512) == "512 B"
    assert _memory.format_bytes(1536) == "1.5 KiB"
    assert _memory.format_bytes(48 * 2**20) == "48.0 MiB"


def test_check_state_memory_refuses_with_numbers_in_message_and_attributes(monkeypatch):
    monkeypatch.setenv("KIZUNA_MEMORY_LIMIT", "1MiB")
    with pytest.raises(MemoryLimitError) as info:
        _memory.check_state_memory(20, copies=2)
    err = info.value
    assert (err.num_qubits, err.bytes_needed, err.bytes_available) == (20, 2 * 16 * 2**20, 2**20)
    msg = str(err)
    assert "20-qubit" in msg and "32.0 MiB" in msg and "1.0 MiB" in msg
    assert isinstance(err, SimulationError) and isinstance(err, MemoryError)


def test_check_state_memory_passes_small_states_and_returns_bytes(monkeypatch):
    monkeypatch.setenv("KIZUNA_MEMORY_LIMIT", "1MiB")
    assert _memory.check_state_memory(10, copies=3) == 3 * 16 * 1024


def test_check_state_memory_uses_a_budget_read_earlier_when_given(monkeypatch):
    monkeypatch.setenv("KIZUNA_MEMORY_LIMIT", "1GiB")
    with pytest.raises(MemoryLimitError) as info:
        _memory.check_state_memory(10, copies=3, budget=1000)
    assert info.value.bytes_available == 1000
    assert _memory.check_state_memory(10, copies=3, budget=10**6) == 3 * 16 * 1024
