"""Text diagrams (``kizuna.computing._draw.draw_text``, ``str(circuit)``): snapshots of small
circuits and properties of random ones."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.computing._draw import draw_text
from kizuna.computing.circuit import Circuit
from kizuna.computing.parameters import Parameter


def lines(text: str) -> list[str]:
    return text.split("\n")


def blocks(text: str) -> list[list[str]]:
    return [b.split("\n") for b in text.split("\n\n")]


def wire_line(text: str, label: str) -> str:
    """The first line that starts with the wire label (after any padding)."""
    (line,) = [ln for ln in lines(text) if ln.lstrip(" «").startswith(label)][:1]
    return line


def column_of(line: str, ch: str) -> int:
    return line.index(ch)


# --- snapshots -----------------------------------------------------------------------------------
def test_bell_circuit_draws_exactly():
    bell = Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1])
    assert lines(str(bell)) == [
        "     ┌───┐     ┌─┐    ",
        "q_0: ┤ h ├──■──┤M├────",
        "     └───┘┌─┴─┐└╥┘┌─┐ ",
        "q_1: ─────┤ x ├─╫─┤M├─",
        "          └───┘ ║ └╥┘ ",
        "c: 2/═══════════╩══╩══",
        "                0  1  ",
    ]


def test_str_and_draw_are_draw_text():
    c = Circuit(3, 1).h(0).ccx(0, 1, 2).measure(2, 0)
    assert str(c) == draw_text(c) == c.draw()


def test_adjacent_boxes_in_one_column_share_their_edge():
    text = draw_text(Circuit(2).h(0).h(1))
    assert lines(text) == [
        "     ┌───┐ ",
        "q_0: ┤ h ├─",
        "     ├───┤ ",
        "q_1: ┤ h ├─",
        "     └───┘ ",
    ]


def test_control_below_target_and_crossing_an_idle_wire():
    text = draw_text(Circuit(3).cx(2, 0))
    assert lines(text) == [
        "     ┌───┐ ",
        "q_0: ┤ x ├─",
        "     └─┬─┘ ",
        "q_1: ──┼───",
        "       │   ",
        "q_2: ──■───",
        "           ",
    ]


def test_swap_draws_two_crosses_joined():
    text = draw_text(Circuit(2).swap(0, 1))
    assert lines(text) == [
        "         ",
        "q_0: ─X──",
        "      │  ",
        "q_1: ─X──",
        "         ",
    ]


def test_conditioned_gate_connects_to_its_register_with_the_value():
    c = Circuit(1, 0)
    c.add_creg("c", 2)
    with c.if_test("c", 1):
        c.x(0)
    assert lines(draw_text(c)) == [
        "     ┌───┐ ",
        "q_0: ┤ x ├─",
        "     └─╥─┘ ",
        "c: 2/══■═══",
        "      0x1  ",
    ]


# --- elements ------------------------------------------------------------------------------------
def test_empty_circuit_draws_only_its_wires():
    c = Circuit(2, 0)
    c.add_creg("c", 3)
    text = draw_text(c)
    assert lines(text) == [
        "         ",
        "q_0: ────",
        "         ",
        "q_1: ────",
        "         ",
        "c: 3/════",
        "         ",
    ]


def test_circuit_without_wires_draws_nothing():
    assert draw_text(Circuit()) == ""


def test_wires_are_named_by_register_and_index():
    c = Circuit()
    c.add_qreg("a", 1)
    c.add_qreg("b", 3)
    c.add_creg("m", 2)
    c.add_creg("flag", 1)
    c.x(3)
    text = draw_text(c)
    wire_labels = [ln.split(":")[0].strip() for ln in lines(text)[1::2]]
    assert wire_labels == ["a_0", "b_0", "b_1", "b_2", "m", "flag"]
    assert "m: 2/═" in text and "flag: 1/═" in text
    assert "┤ x ├" in wire_line(text, "b_2")


def test_gate_labels_show_parameters_briefly():
    theta = Parameter("theta")
    c = Circuit(2).rx(math.pi / 2, 0).u(math.pi, 0.25, -math.pi / 4, 1).rz(2 * theta, 0)
    text = draw_text(c)
    assert "┤ rx(π/2) ├" in text
    assert "u(π,0.25,-π/4)" in text
    assert "rz(2.0*theta)" in text


def test_controlled_gates_draw_dots_on_controls_and_a_box_on_the_target():
    c = Circuit(5).ccx(0, 1, 2).crz(math.pi / 4, 3, 4).c4x(4, 3, 2, 1, 0).cp(0.5, 0, 1)
    text = draw_text(c)
    assert text.count("■") == 2 + 1 + 4 + 1
    assert "┤ rz(π/4) ├" in wire_line(text, "q_4")
    assert "┤ p(0.5) ├" in wire_line(text, "q_1")
    # c4x with its target on q_0: the box sits on q_0, the dots on q_1..q_4 below it
    assert wire_line(text, "q_0").count("┤ x ├") == 1


def test_cswap_draws_a_dot_and_two_crosses():
    text = draw_text(Circuit(3).cswap(1, 0, 2))
    assert "X" in wire_line(text, "q_0") and "X" in wire_line(text, "q_2")
    assert "■" in wire_line(text, "q_1")


def test_measure_points_at_the_clbit_index():
    c = Circuit(2, 0)
    c.add_creg("a", 1)
    c.add_creg("b", 3)
    c.measure(1, 3)  # b[2]
    text = draw_text(c)
    assert "┤M├" in wire_line(text, "q_1")
    assert "╬" in wire_line(text, "a")  # the connector crosses register a ...
    b_line = wire_line(text, "b")
    x = column_of(b_line, "╩")  # ... and lands on b, with the index below
    below = lines(text)[lines(text).index(b_line) + 1]
    assert below[x] == "2"


def test_reset_and_barrier():
    text = draw_text(Circuit(3).reset(1).barrier())
    assert "|0>" in wire_line(text, "q_1")
    for q in range(3):
        assert "░" in wire_line(text, f"q_{q}")
    # the barrier is continuous between its wires
    ls = lines(text)
    x = ls[1].index("░")
    assert [ls[r][x] for r in range(1, 6)] == ["░"] * 5


def test_multi_qubit_box_numbers_arguments_only_when_out_of_order():
    c = Circuit(3)
    c.rzz(0.5, 0, 1)  # contiguous, in order: no numbers
    text = draw_text(c)
    assert "rzz(0.5)" in text and "┤0" not in text
    c = Circuit(3).unitary(np.eye(4), [2, 0])
    text = draw_text(c)
    assert "unitary" in text
    assert "┤1" in wire_line(text, "q_0") and "┤0" in wire_line(text, "q_2")
    assert "┤" not in wire_line(text, "q_1")  # spanned, not an argument


def test_composite_gate_box_carries_its_name():
    sub = Circuit(2, name="bell_pair").h(0).cx(0, 1).to_gate()
    c = Circuit(3).append(sub, [0, 2])
    text = draw_text(c)
    assert "bell_pair" in text
    assert "0" in wire_line(text, "q_0") and "1" in wire_line(text, "q_2")


# --- layout --------------------------------------------------------------------------------------
def test_gates_on_disjoint_wires_share_a_column():
    text = draw_text(Circuit(2).h(0).x(1))
    assert column_of(wire_line(text, "q_0"), "┤") == column_of(wire_line(text, "q_1"), "┤")


def test_a_spanning_gate_blocks_the_wires_between():
    text = draw_text(Circuit(3).cx(0, 2).h(1))
    q1 = wire_line(text, "q_1")
    assert q1.index("┼") < q1.index("┤ h ├")


def test_measurement_blocks_the_wires_down_to_its_register():
    text = draw_text(Circuit(2, 1).measure(0, 0).h(1))
    q1 = wire_line(text, "q_1")
    assert q1.index("╫") < q1.index("┤ h ├")


def test_long_circuits_wrap_into_blocks_within_the_width():
    c = Circuit(2)
    for i in range(40):
        c.rx(0.1 * (i + 1), i % 2).cx(0, 1)
    text = draw_text(c, width=60)
    bs = blocks(text)
    assert len(bs) > 2
    for b in bs:
        assert len(b) == 5
        assert all(len(ln) <= 60 for ln in b)
    assert bs[0][1].endswith("»") and bs[1][1].startswith("«q_0:")
    assert not bs[-1][1].endswith("»")
    assert len(blocks(draw_text(c, width=None))) == 1
    assert len(blocks(str(c))) == len(blocks(draw_text(c, width=80)))


def test_a_column_wider_than_the_width_still_draws():
    c = Circuit(1).rx(0.123456, 0).rx(0.654321, 0)
    bs = blocks(draw_text(c, width=10))
    assert len(bs) == 2 and "rx(0.1235)" in bs[0][1] and "rx(0.6543)" in bs[1][1]


# --- properties on random circuits -----------------------------------------------------------------
_ONE = ["h", "x", "sdg", "rx", "u"]
_TWO = ["cx", "cz", "swap", "crx", "rzz", "cu3"]
_THREE = ["ccx", "cswap", "rccx"]


@st.composite
def circuits(draw):
    nq = draw(st.integers(1, 5))
    ncreg = draw(st.integers(0, 2))
    c = Circuit(nq)
    for k in range(ncreg):
        c.add_creg(f"c{k}", draw(st.integers(1, 3)))
    for _ in range(draw(st.integers(0, 25))):
        kind = draw(st.sampled_from(["one", "two", "three", "measure", "reset", "barrier", "if", "unitary"]))
        qs = draw(st.permutations(range(nq)))
        angle = draw(st.floats(-4, 4, allow_nan=False))
        if kind == "one":
            name = draw(st.sampled_from(_ONE))
            c.gate(name, qs[:1], [angle] * {"rx": 1, "u": 3}.get(name, 0))
        elif kind == "two" and nq >= 2:
            name = draw(st.sampled_from(_TWO))
            c.gate(name, qs[:2], [angle] * {"crx": 1, "rzz": 1, "cu3": 3}.get(name, 0))
        elif kind == "three" and nq >= 3:
            c.gate(draw(st.sampled_from(_THREE)), qs[:3])
        elif kind == "measure" and c.num_clbits:
            c.measure(qs[0], draw(st.integers(0, c.num_clbits - 1)))
        elif kind == "reset":
            c.reset(qs[0])
        elif kind == "barrier":
            c.barrier(sorted(qs[: draw(st.integers(1, nq))]))
        elif kind == "if" and c.cregs:
            reg = draw(st.sampled_from(c.cregs))
            with c.if_test(reg, draw(st.integers(0, 2**reg.size - 1))):
                c.x(qs[0]) if draw(st.booleans()) or nq < 2 else c.cx(qs[0], qs[1])
        elif kind == "unitary" and nq >= 2:
            c.unitary(np.eye(4), qs[:2])
    return c


@settings(max_examples=60, deadline=None)
@given(circuits(), st.sampled_from([None, 40, 80]))
def test_random_circuits_draw_rectangular_blocks_with_every_wire(c, width):
    text = draw_text(c, width=width)
    assert text == draw_text(c, width=width)  # deterministic
    num_wires = c.num_qubits + len(c.cregs)
    bs = blocks(text)
    if width is None:
        assert len(bs) == 1
    for i, b in enumerate(bs):
        assert len(b) == 2 * num_wires + 1
        assert len({len(ln) for ln in b}) == 1
        names = [ln.lstrip(" «").split(":")[0] for ln in b[1::2]]
        expected = [f"q_{k}" for k in range(c.num_qubits)] + [r.name for r in c.cregs]
        assert names == expected
    flat = text.replace("\n", "")
    for ins in c.instructions:
        if ins.name in ("rx", "u", "sdg", "rzz", "rccx", "unitary"):
            assert ins.label() in flat
    assert flat.count("┤M├") == c.count_ops().get("measure", 0)
    assert flat.count("|0>") == c.count_ops().get("reset", 0)


@settings(max_examples=40, deadline=None)
@given(circuits())
def test_wrapping_keeps_every_column(c):
    """The blocks of a wrapped diagram hold the same columns as the unwrapped one."""
    whole = blocks(draw_text(c, width=None))[0]
    wrapped = blocks(draw_text(c, width=30))
    label_w = whole[1].index("q_0: ") + len("q_0: ")  # labels are right-aligned to one width
    for row in range(len(whole)):
        joined = whole[row][:label_w]
        for i, b in enumerate(wrapped):
            body = b[row][label_w + (1 if i else 0) : len(b[row]) - 1]
            joined += body
        assert joined == whole[row][:-1]


@pytest.mark.parametrize("width", [20, 80])
def test_wrapped_lines_fit_when_columns_do(width):
    c = Circuit(3)
    for i in range(30):
        c.h(i % 3).cx(i % 3, (i + 1) % 3)
    for b in blocks(draw_text(c, width=width)):
        assert max(len(ln) for ln in b) <= width
