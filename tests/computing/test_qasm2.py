"""OpenQASM 2 reading and writing.

References: the OpenQASM 2 specification (Cross et al., arXiv:1707.03429: grammar, ``qelib1.inc``,
broadcasting, expression precedence with ``^`` right-associative and tighter than unary minus);
``qiskit.qasm2.loads(..., custom_instructions=LEGACY_CUSTOM_INSTRUCTIONS)`` as the peer parser,
``qiskit.quantum_info.Operator``/``Statevector`` as the peer for what the programs mean.
"""

from __future__ import annotations

import math
import os
import warnings

import numpy as np
import pytest
import qiskit.qasm2 as qk_qasm2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qiskit.quantum_info import Operator, Statevector

from kizuna import Circuit, Parameter
from kizuna.computing import parameters as kp
from kizuna.computing import qasm2
from kizuna.computing.backends._reference import (
    reference_statevector,
    reference_unitary,
)
from kizuna.core.gates import GATES, gate_matrix
from kizuna.errors import CircuitError, QasmError

LEGACY = qk_qasm2.LEGACY_CUSTOM_INSTRUCTIONS


def qiskit_loads(text: str, **kw):
    return qk_qasm2.loads(text, custom_instructions=LEGACY, **kw)


def assert_same_unitary(kizuna_circuit, qiskit_circuit, tol=1e-10):
    """Equal operators up to a global phase: |tr(U^dag V)| / d >= 1 - tol."""
    u = reference_unitary(kizuna_circuit)
    v = Operator(qiskit_circuit).data
    d = u.shape[0]
    overlap = abs(np.trace(u.conj().T @ v)) / d
    assert overlap >= 1 - tol, f"operator overlap {overlap}"


def assert_same_state(kizuna_circuit, qiskit_circuit, tol=1e-10):
    a = reference_statevector(kizuna_circuit)
    b = Statevector(qiskit_circuit.remove_final_measurements(inplace=False)).data
    fidelity = abs(np.vdot(a, b)) ** 2
    assert fidelity >= 1 - tol, f"fidelity {fidelity}"


def assert_same_registers(kc, qc):
    assert kc.num_qubits == qc.num_qubits
    assert kc.num_clbits == qc.num_clbits
    assert [(r.name, r.size) for r in kc.qregs] == [(r.name, r.size) for r in qc.qregs]
    assert [(r.name, r.size) for r in kc.cregs] == [(r.name, r.size) for r in qc.cregs]


# --- differential: the same programs through Kizuna and Qiskit ----------------------------------

BROADCAST = """
OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
qreg r[3];
qreg w[1];
creg c[3];
h q;                 // one h per qubit
cx q, r;             // zips equal registers
cx q[0], w;          // a single qubit repeats against a register of one
crz(pi/3) r, q[1] ;  // a register against a single qubit of another register
"""

ALL_QELIB1 = """
OPENQASM 2.0;
include "qelib1.inc";
qreg a[3];
qreg b[2];
U(0.3, 0.2, 0.1) a[0];
CX a[0], b[1];
u3(0.1, 0.2, 0.3) a[0]; u2(0.4, 0.5) a[1]; u1(0.6) a[2]; cx a[0], a[1]; id a[2]; u0(2) a[1];
u(0.7, 0.8, 0.9) b[0]; p(1.1) b[1]; x a[0]; y a[1]; z a[2]; h b[0]; s b[1]; sdg a[0];
t a[1]; tdg a[2]; rx(0.31) b[0]; ry(0.32) b[1]; rz(0.33) a[0]; sx a[1]; sxdg a[2];
cz a[0], b[0]; cy a[1], b[1]; swap a[2], b[0]; ch b[1], a[0]; ccx a[0], a[1], b[0];
cswap b[1], a[2], a[0]; crx(0.41) a[0], b[1]; cry(0.42) b[1], a[1]; crz(0.43) a[2], b[0];
cu1(0.44) a[0], a[2]; cp(0.45) b[0], b[1]; cu3(0.46, 0.47, 0.48) a[1], a[0];
csx a[2], a[1]; cu(0.49, 0.5, 0.51, 0.52) b[1], a[2]; rxx(0.53) a[0], b[0];
rzz(0.54) a[1], b[1]; rccx a[0], b[0], a[2]; rc3x a[0], a[1], a[2], b[0];
c3x b[1], a[0], a[1], a[2]; c3sqrtx a[2], b[0], a[0], b[1]; c4x a[0], a[1], a[2], b[0], b[1];
"""

NESTED_GATES = """
OPENQASM 2.0;
include "qelib1.inc";
gate rot(theta, phi) q {
  rz(phi) q; ry(theta / 2) q; rz(-phi) q;
}
gate ent(a) x, y {
  rot(a, a * 2) x;
  barrier x, y;
  cx x, y;
  rot(-a ^ 2, sin(a) + cos(a) - tan(a / 3)) y;   // -a^2 is -(a^2)
}
gate deep(a, b) x, y, z {
  ent(a + b) x, y;
  ent(exp(a) / ln(2 + b)) y, z;
  U(sqrt(a * a + 1), pi / 4, -pi) z;
  CX z, x;
  rot(2 ^ 3 ^ 0.5 - a, b * -1) x;                // right-associative power, signed factor
}
qreg q[3];
deep(0.3, 1.7) q[0], q[1], q[2];
ent(0.25) q[2], q[0];
rot(0.1, -0.2) q;                                 // a composite broadcast over a register
"""

MANY_REGISTERS = """
OPENQASM 2.0;
include "qelib1.inc";
qreg a[2]; creg ca[2];
qreg b[1];
creg cb[1];
qreg c[2];
h a; x b; cx a, c; ccx a[0], a[1], b[0];
barrier a, b[0], c[1];
barrier;
measure a -> ca;
measure b[0] -> cb[0];
"""

COMMENTS_AND_EMPTY = """// a file with comments everywhere
OPENQASM 2.0;   // the version
include "qelib1.inc";
;;
qreg q[2];   // two qubits
opaque magic(a) x, y;   // declared, never used
gate g x { h x; barrier x; }   // barrier in a body
gate empty_one x { }
g q[0]; empty_one q[1]; // nothing
cx q[0],q[1];
"""

DEFINED_EXTRAS = """
OPENQASM 2.0;
include "qelib1.inc";
gate ryy(param0) q0,q1 { rx(pi/2) q0; rx(pi/2) q1; cx q0,q1; rz(param0) q1; cx q0,q1; rx(-pi/2) q0; rx(-pi/2) q1; }
gate rzx(t) a,b { h b; cx a,b; rz(t) b; cx a,b; h b; }
qreg q[2];
h q;
ryy(0.7) q[0], q[1];
rzx(-1.3) q[1], q[0];
"""

WRONG_RYY = """
OPENQASM 2.0;
include "qelib1.inc";
gate ryy(t) a,b { rx(t) a; cx a,b; }
qreg q[2];
h q[1];
ryy(0.7) q[0], q[1];
"""

PROGRAMS = {
    "broadcast": BROADCAST,
    "all_qelib1": ALL_QELIB1,
    "nested_gates": NESTED_GATES,
    "many_registers": MANY_REGISTERS,
    "comments_and_empty": COMMENTS_AND_EMPTY,
    "defined_extras": DEFINED_EXTRAS,
    "wrong_ryy": WRONG_RYY,
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program_means_what_qiskit_reads(name):
    text = PROGRAMS[name]
    kc = qasm2.loads(text)
    qc = qiskit_loads(text)
    assert_same_registers(kc, qc)
    assert len(kc) == len(qc.data)
    assert_same_unitary(kc.remove_final_measurements(), qc.remove_final_measurements(inplace=False))
    assert_same_state(kc, qc)


def test_broadcast_expands_to_one_instruction_per_element():
    c = qasm2.loads(BROADCAST)
    names = [(ins.name, ins.qubits) for ins in c]
    assert names[:3] == [("h", (0,)), ("h", (1,)), ("h", (2,))]
    assert names[3:6] == [("cx", (0, 3)), ("cx", (1, 4)), ("cx", (2, 5))]
    assert names[6] == ("cx", (0, 6))
    assert names[7:] == [("crz", (3, 1)), ("crz", (4, 1)), ("crz", (5, 1))]


def test_qiskit_style_ryy_and_rzx_definitions_become_table_gates():
    c = qasm2.loads(DEFINED_EXTRAS)
    assert [ins.name for ins in c][-2:] == ["ryy", "rzx"]
    assert all(ins.definition is None for ins in c)


def test_a_ryy_that_means_something_else_stays_a_composite_gate():
    c = qasm2.loads(WRONG_RYY)
    ins = c.instructions[-1]
    assert ins.definition is not None
    assert ins.name == "ryy_custom"
    assert [b.name for b in ins.definition.body] == ["rx", "cx"]


def test_a_ryy_body_that_cannot_be_evaluated_at_the_probe_points_stays_a_composite():
    c = qasm2.loads("gate ryy(t) a,b { U(0, 0, ln(t)) a; CX a, b; } qreg q[2]; ryy(2.5) q[0], q[1];")
    assert c.instructions[0].name == "ryy_custom"


def test_gate_definitions_become_composite_gates_with_parameters():
    c = qasm2.loads(NESTED_GATES)
    deep = c.instructions[0].definition
    assert deep.name == "deep" and deep.num_qubits == 3
    assert deep.params == (Parameter("a"), Parameter("b"))
    assert [b.name for b in deep.body] == ["ent", "ent", "u", "cx", "rot"]
    a, b = Parameter("a"), Parameter("b")
    assert deep.body[0].params == (a + b,)
    assert deep.body[1].params == (kp.exp(a) / kp.ln(2 + b),)
    ent = deep.body[0].definition
    assert [x.name for x in ent.body] == ["rot", "barrier", "cx", "rot"]
    assert ent.body[3].params[0] == -(Parameter("a") ** 2)


def test_composite_called_in_a_gate_is_the_earlier_definition():
    c = qasm2.loads(NESTED_GATES)
    deep = c.instructions[0].definition
    assert deep.body[0].definition is c.instructions[1].definition  # the same 'ent' object


EXPRESSIONS = [
    "1", "-2^2", "2^3^2", "2*-3", "2^-1", "-pi/4", "1e-3", ".5", "5.", "1.5E+2", "3 - 2 - 1",
    "8 / 4 / 2", "-(1+2)*3", "+1", "--1", "sin(pi/6)", "cos(1)", "tan(0.3)", "exp(0.5)", "ln(2)",
    "sqrt(2)", "2 + 3 * 4 ^ 0.5", "-2^-2", "(1+2)^(1/2)", "pi^2", "123456789012345678901234567890",
    "sin(cos(tan(0.1)))", "1/3 - -1/3", "2*pi-pi*2",
]  # fmt: skip


def test_expressions_evaluate_as_qiskit_evaluates_them():
    body = "".join(f"U({e}, 0, 0) q[0];\n" for e in EXPRESSIONS)
    text = "OPENQASM 2.0;\nqreg q[1];\n" + body
    kc = qasm2.loads(text)
    qc = qiskit_loads(text)
    for e, ins, qins in zip(EXPRESSIONS, kc, qc.data):
        k, q = ins.params[0], float(qins.operation.params[0])
        assert math.isclose(k, q, rel_tol=1e-15, abs_tol=1e-15), (e, k, q)


def test_expression_precedence_follows_the_specification():
    c = qasm2.loads("qreg q[1]; U(-2^2, 2^3^2, 2^-1) q[0];")
    assert c.instructions[0].params == (-4.0, 512.0, 0.5)


def test_include_of_a_second_file_from_disk(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "mine.inc").write_text(
        "// my gates\ngate twist(ang) a, b { cx a, b; rz(ang) b; cx a, b; }\n"
        "gate dbl a, b { twist(0.5) a, b; twist(0.25) b, a; }\n"
    )
    main = tmp_path / "main.qasm"
    main.write_text(
        'OPENQASM 2.0;\ninclude "qelib1.inc";\ninclude "lib/mine.inc";\nqreg q[2];\nh q;\n'
        "twist(pi/5) q[0], q[1];\ndbl q[1], q[0];\n"
    )
    kc = qasm2.load(main)
    # qiskit 2.6 fails on parameterised gate definitions inside included files ("needed an
    # expression, but instead saw qreg"), so it reads the same program with the include pasted in
    pasted = main.read_text().replace('include "lib/mine.inc";', (tmp_path / "lib" / "mine.inc").read_text())
    qc = qiskit_loads(pasted)
    assert_same_registers(kc, qc)
    assert_same_unitary(kc, qc)
    assert kc.name == "main"


def test_include_path_is_searched_after_the_files_folder(tmp_path):
    inc = tmp_path / "incs"
    inc.mkdir()
    (inc / "g.inc").write_text("gate g a { U(pi, 0, pi) a; }\n")
    text = 'include "g.inc";\nqreg q[1];\ng q[0];\n'
    assert qasm2.loads(text, include_path=[inc]).count_ops() == {"g": 1}
    prog = tmp_path / "p.qasm"
    prog.write_text(text)
    assert qasm2.load(prog, include_path=[str(inc)]).count_ops() == {"g": 1}


def test_conditions_reset_and_measure_match_qiskits_structure():
    text = """
    OPENQASM 2.0;
    include "qelib1.inc";
    qreg q[3];
    creg c[2];
    creg d[1];
    h q[0];
    measure q[0] -> c[0];
    if(c==1) x q[1];
    if(c==3) cx q[1], q[2];
    if(d==0) measure q[2] -> d[0];
    if(c==2) reset q[0];
    reset q;
    """
    kc = qasm2.loads(text)
    qc = qiskit_loads(text)
    assert_same_registers(kc, qc)
    # Qiskit wraps each conditioned operation (and each broadcast element) in an if_else
    assert len(kc) == len(qc.data)
    conds = [(str(i.condition), i.name) for i in kc if i.condition is not None]
    assert conds == [("if(c==1)", "x"), ("if(c==3)", "cx"), ("if(d==0)", "measure"), ("if(c==2)", "reset")]
    assert kc.instructions[2].condition.clbits == (0, 1)
    assert kc.instructions[4].condition.clbits == (2,)
    assert [i.name for i in kc][-3:] == ["reset"] * 3


def test_conditioned_composite_and_broadcast_conditions():
    kc = qasm2.loads('include "qelib1.inc"; gate g a { h a; } qreg q[2]; creg c[1]; if(c==1) g q;')
    assert [(i.name, i.qubits, str(i.condition)) for i in kc] == [
        ("g", (0,), "if(c==1)"),
        ("g", (1,), "if(c==1)"),
    ]


def test_qelib1_gate_defined_before_the_include_is_the_standard_gate():
    # As Qiskit: a file may define a qelib1 gate itself (once); the standard gate is used.
    c = qasm2.loads("gate cx a, b { CX a, b; } qreg q[2]; cx q[0], q[1];")
    assert c.instructions[0].name == "cx" and c.instructions[0].definition is None


def test_qelib1_gate_defined_wrongly_warns_and_uses_the_standard_gate():
    with pytest.warns(UserWarning, match="differs from the standard 'h'"):
        c = qasm2.loads("gate h a { U(0, 0, 0) a; } qreg q[1]; h q[0];")
    assert c.instructions[0].name == "h"


def test_a_local_copy_of_qelib1_definitions_maps_to_table_gates_without_warnings():
    text = """
    gate u3(theta,phi,lambda) q { U(theta,phi,lambda) q; }
    gate u2(phi,lambda) q { U(pi/2,phi,lambda) q; }
    gate u1(lambda) q { U(0,0,lambda) q; }
    gate rz(phi) a { u1(phi) a; }
    gate cx c,t { CX c,t; }
    gate h a { u2(0,pi) a; }
    qreg q[2];
    h q[0]; rz(0.3) q[0]; cx q[0], q[1]; u3(1,2,3) q[1];
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = qasm2.loads(text)
    assert [i.name for i in c] == ["h", "rz", "cx", "u3"]


def test_always_available_legacy_gates_need_no_include():
    c = qasm2.loads("qreg q[2]; swap q[0], q[1]; p(0.5) q[0]; rzz(0.1) q[0], q[1]; sx q[1];")
    assert [i.name for i in c] == ["swap", "p", "rzz", "sx"]


def test_barrier_forms():
    c = qasm2.loads("qreg q[2]; qreg r[2]; barrier q, r[1]; barrier; barrier q[0], q, q[1];")
    assert [i.qubits for i in c] == [(0, 1, 3), (0, 1, 2, 3), (0, 1)]


def test_windows_line_endings_and_a_byte_order_mark_are_fine():
    text = '\ufeffOPENQASM 2.0;\r\ninclude "qelib1.inc";\r\nqreg q[1];\r\nx q[0];\r\n'
    assert qasm2.loads(text).count_ops() == {"x": 1}


def test_empty_program_is_an_empty_circuit():
    assert qasm2.loads("").num_qubits == 0
    assert len(qasm2.loads("OPENQASM 2.0;")) == 0


# --- errors: place and sentence -------------------------------------------------------------

QELIB = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'

ERRORS = [
    # (program, line, column, message)
    (QELIB + "qreg q[2];\nh q[0] q[1];\n", 4, 8, "expected ';' or ',' after gate arguments, found 'q[1]'"),
    (QELIB + "qreg q[2];\nfoo q[0];\n", 4, 1, "unknown gate 'foo'"),
    ("qreg q[1];\nh q[0];\n", 2, 1, "unknown gate 'h' (it is in qelib1.inc: add include \"qelib1.inc\";)"),
    (QELIB + "qreg q[3];\nx q[5];\n", 4, 5, "qubit index 5 out of range for qreg q[3]"),
    (QELIB + "qreg q[2];\ncx q[0];\n", 4, 1, "gate 'cx' takes 2 qubit(s), got 1"),
    (QELIB + "qreg q[2];\nrx q[0];\n", 4, 1, "gate 'rx' takes 1 parameter(s), got 0"),
    (QELIB + "qreg q[2];\ncx q[0], r[1];\n", 4, 10, "register 'r' not declared"),
    (QELIB + "qreg q[3];\nqreg r[2];\ncx q, r;\n", 5, 7, "registers of different sizes in broadcast (q[3], r[2])"),
    (QELIB + 'include "foo.inc";\n', 3, 9, "cannot find include file 'foo.inc' (looked in "),
    (QELIB + "qreg q[1];\nrx(1/0) q[0];\n", 4, 5, "division by zero"),
    (QELIB + "gate g(a) x { rx(b) x; }\n", 3, 18, "unknown parameter 'b' in gate 'g' (its parameters: a)"),
    (QELIB + "qreg q[1];\nrx(a) q[0];\n", 4, 4, "unknown parameter 'a' (only gate bodies have parameters)"),
    (QELIB + "qreg q[2];\ncreg q[2];\n", 4, 6, "cannot declare creg 'q': qreg q[2] is already declared (line 3)"),
    (QELIB + "qreg q[2];\nqreg q[2];\n", 4, 6, "qreg 'q' is already declared (line 3)"),
    (QELIB + "qreg q[2];\ncx q[1], q[1];\n", 4, 10, "qubit q[1] is used twice in one call of 'cx'"),
    (QELIB + "qreg q[2];\ncx q[0], q;\n", 4, 10, "qubit q[0] is used twice in one call of 'cx'"),
    (QELIB + "opaque magic a;\nqreg q[1];\nmagic q[0];\n", 5, 1, "gate 'magic' is opaque (declared without a body, line 3) and cannot be simulated"),
    (QELIB + "qreg q[1];\nx q[0]", 4, 7, "expected ';' or ',' after gate arguments, found the end of the file"),
    (QELIB + "qreg q[1];\n/* block */\n", 4, 1, "block comments '/* */' are not OpenQASM 2; comment with '//'"),
    (QELIB + "qreg Q[1];\n", 3, 6, "names must start with a lowercase letter (found 'Q'); only the built-ins 'U' and 'CX' start with a capital"),
    (QELIB + "qreg q[1];\nrx(0.5 q[0];\n", 4, 8, "expected an operator, ',' or ')' in the parameters of 'rx', found 'q[0]'"),
    (QELIB + "qreg q[1];\ncreg c[1];\nmeasure q[0] c[0];\n", 5, 14, "expected '->' after 'q[0]', found 'c[0]'"),
    (QELIB + "qreg q[3];\ncreg c[2];\nmeasure q -> c;\n", 5, 14, "registers of different sizes in measure (q[3], c[2])"),
    (QELIB + "qreg q[1];\ncreg c[2];\nif(c==4) x q[0];\n", 5, 7, "condition value 4 does not fit in creg c[2] (largest value 3)"),
    (QELIB + "qreg q[1];\nif(q==1) x q[0];\n", 4, 4, "'q' is a qreg; a classical argument needs a creg"),
    (QELIB + "gate h a { x a; }\n", 3, 6, "gate 'h' is already defined (qelib1.inc)"),
    (QELIB + "gate g a { reset a; }\n", 3, 12, "expected a gate call, 'barrier' or '}' in the body of gate 'g', found the keyword 'reset'"),
    (QELIB + "gate g a { x a[0]; }\n", 3, 14, "inside gate 'g', name qubits by the gate's arguments without an index (found 'a[0]')"),
    (QELIB + "gate g a { x b; }\n", 3, 14, "unknown qubit 'b' in gate 'g' (its qubits: a)"),
    (QELIB + "gate g a { g a; }\n", 3, 12, "gate 'g' cannot call itself (a gate may use only gates defined before it)"),
    (QELIB + "gate g(a, a) x { }\n", 3, 11, "'a' is declared twice in gate 'g' (first as a parameter)"),
    ("qreg q[1];\nOPENQASM 2.0;\n", 2, 1, "the 'OPENQASM' version line must be the first statement"),
    ("OPENQASM 2.0;\nOPENQASM 2.0;\n", 2, 1, "the 'OPENQASM' version line must be the first statement"),
    ("OPENQASM 3.0;\nqreg q[1];\n", 1, 10, "only OpenQASM 2.0 can be read (this file says 3.0)"),
    (QELIB + "qreg q[1];\nrx(sqrt(-1)) q[0];\n", 4, 4, "cannot take sqrt of -1.0"),
    (QELIB + "qreg q[1];\nrx((-2)^0.5) q[0];\n", 4, 8, "-2.0^0.5 is not a real number"),
    (QELIB + "qreg q[1];\nrx(1.5) q[1.5];\n", 4, 11, "expected an integer after '[', found '1.5'"),
    (QELIB + "qreg q[0];\n", 3, 8, "qreg 'q' must have at least one qubit (got size 0)"),
    (QELIB + "qreg q[1];\nx q[0]; @\n", 4, 9, "unexpected character '@'"),
    (QELIB + 'include "qelib1.inc";\n', 3, 9, "qelib1.inc is included twice"),
    (QELIB + "qreg h[1];\n", 3, 6, "cannot declare qreg 'h': a gate 'h' already exists (qelib1.inc)"),
    (QELIB + "qreg q[1];\ncreg c[1];\nif(c==1) barrier q;\n", 5, 10, "a barrier cannot be conditioned; 'if' takes a gate call, measure or reset"),
    (QELIB + "qreg q[1];\nmeasure q[0] -> q[0];\n", 4, 17, "'q' is a qreg; a classical argument needs a creg"),
    (QELIB + "gate swap a { }\n", 3, 6, "gate 'swap' must take 0 parameter(s) and 2 qubit(s) like the standard 'swap' (this one takes 0 and 1)"),
    (QELIB + 'include "unterminated;\n', 3, 9, "unterminated string: a file name in quotes must end on the same line"),
    (QELIB + "qreg q[1];\nU(0, 0, 0) q[0];\ncreg c[1] \n", 5, 10, "expected ';' after 'c[1]', found the end of the file"),
]  # fmt: skip


@pytest.mark.parametrize("text, line, column, message", ERRORS, ids=[m[:40] for *_, m in ERRORS])
def test_bad_program_raises_qasm_error_at_the_offending_token(text, line, column, message):
    with pytest.raises(QasmError) as info:
        qasm2.loads(text, filename="bad.qasm")
    err = info.value
    assert (err.line, err.column) == (line, column), str(err)
    assert err.filename == "bad.qasm"
    assert err.message.startswith(message), err.message
    assert str(err).startswith(f"bad.qasm:{line}:{column}: {message}")


def test_the_first_error_in_the_file_wins_over_a_later_syntax_error():
    with pytest.raises(QasmError, match=r"^<string>:2:1: unknown gate 'foo'$"):
        qasm2.loads("qreg q[1];\nfoo q[0];\nU(0, 0, 0) q[0] q[0];\n")
    with pytest.raises(QasmError, match=r"^<string>:2:6: qreg 'q' is already declared"):
        qasm2.loads("qreg q[1];\nqreg q[1];\n@\n")


def test_permissive_forms_qiskit_accepts():
    text = (
        ';; OPENQASM 2.0;\ninclude "qelib1.inc";\ngate g(a,) x, y, { cx x, y,; rz(a,) y; }\n'
        "qreg q[2];\ng(0.5,) q[0], q[1],;\nbarrier q[0],;\nU(1, 2, 3,) q[1];\n"
    )
    kc = qasm2.loads(text)
    qc = qiskit_loads(text)
    assert [i.name for i in kc] == ["g", "barrier", "u"]
    assert_same_unitary(kc, qc)


def test_error_without_filename_says_string():
    with pytest.raises(QasmError, match=r"^<string>:1:12: unknown gate 'foo'$"):
        qasm2.loads("qreg q[1]; foo q[0];")


def test_error_in_an_included_file_names_that_file(tmp_path):
    (tmp_path / "bad.inc").write_text("gate g a {\n  U(0, 0) a;\n}\n")
    prog = tmp_path / "p.qasm"
    prog.write_text('include "bad.inc";\n')
    with pytest.raises(QasmError) as info:
        qasm2.load(prog)
    assert info.value.filename == str(tmp_path / "bad.inc")
    assert (info.value.line, info.value.column) == (2, 3)
    assert "gate 'U' takes 3 parameter(s), got 2" in str(info.value)


def test_error_names_the_path_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.qasm").write_text("qreg q[1];\nfoo q[0];\n")
    with pytest.raises(QasmError, match=r"^x\.qasm:2:1: unknown gate 'foo'$"):
        qasm2.load("x.qasm")


def test_include_cycle_is_an_error(tmp_path):
    (tmp_path / "a.inc").write_text('include "b.inc";\n')
    (tmp_path / "b.inc").write_text('include "a.inc";\n')
    prog = tmp_path / "p.qasm"
    prog.write_text('include "a.inc";\n')
    with pytest.raises(QasmError, match="include cycle: 'a.inc' includes itself"):
        qasm2.load(prog)


def test_deeply_nested_expression_is_a_qasm_error():
    depth = 5000
    text = "qreg q[1]; U(" + "-(" * depth + "1" + ")" * depth + ", 0, 0) q[0];"
    with pytest.raises(QasmError, match="nested too deeply"):
        qasm2.loads(text)
    shallow = "qreg q[1]; U(" + "(" * depth + "1" + ")" * depth + ", 0, 0) q[0];"  # brackets only
    assert qasm2.loads(shallow).instructions[0].params == (1.0, 0.0, 0.0)


def test_non_utf8_file_is_a_qasm_error(tmp_path):
    p = tmp_path / "latin.qasm"
    p.write_bytes(b"qreg q[1];\n// caf\xe9\n")
    with pytest.raises(QasmError, match="not UTF-8") as info:
        qasm2.load(p)
    assert info.value.line == 2


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list('qcregx[]0123;,() ->=ifU\n/*^pi."{}')), max_size=60))
def test_any_text_raises_only_qasm_error(text):
    try:
        qasm2.loads(text)
    except QasmError as err:
        assert err.line is None or err.line >= 1
        assert err.column is None or err.column >= 1


# --- writing ----------------------------------------------------------------------------------

theta, phi = Parameter("theta"), Parameter("phi")


def _composites():
    inner = Circuit(2, name="inner").rz(theta * 2 - 1, 0).cx(0, 1).ry(kp.sqrt(theta**2 + 1), 1)
    inner_gate = inner.to_gate(params=[theta])
    outer = Circuit(3, name="outer")
    outer.append(inner_gate, [2, 0], [phi / 3])
    outer.barrier(0, 1)
    outer.u(-phi, kp.exp(phi) * kp.cos(phi), -(phi**-2), 1)
    outer.append(inner_gate, [0, 1], [-phi + 0.5])
    outer.ryy(phi, 0, 2)
    return inner_gate, outer.to_gate(params=[phi, theta])


def test_round_trip_of_a_circuit_with_everything():
    inner, outer = _composites()
    c = Circuit(0)
    q = c.add_qreg("q", 3)
    c.add_qreg("anc", 2)
    c.add_creg("c", 2)
    c.add_creg("flag", 1)
    for name, spec in GATES.items():
        if spec.num_qubits <= 5:
            params = [0.1 * (k + 1) + len(name) for k in range(spec.num_params)]
            c.gate(name, list(range(spec.num_qubits)), params)
    c.append(outer, [4, 2, 0], [math.pi, -1e-7])
    c.append(inner, [q[1], 3], [2.5e300])
    c.measure([0, 1], [0, 1])
    with c.if_test("c", 3):
        c.x(2)
        c.append(inner, [0, 1], [0.0])
    with c.if_test("flag", 0):
        c.measure(4, 2)
        c.reset(3)
    c.barrier()
    c.barrier(1, 3)
    c.reset(0)
    text = qasm2.dumps(c)
    back = qasm2.loads(text)
    assert back == c
    assert qasm2.dumps(back) == text


def test_dumps_writes_each_gate_once_dependencies_first():
    inner, outer = _composites()
    c = Circuit(3).h(0)
    c.append(outer, [0, 1, 2], [0.5, 0.25])
    c.append(inner, [1, 2], [1.0])
    text = qasm2.dumps(c)
    lines = text.splitlines()
    heads = [ln.split()[1].split("(")[0] for ln in lines if ln.startswith("gate ")]
    assert heads == ["ryy", "inner", "outer"]
    assert lines[:2] == ["OPENQASM 2.0;", 'include "qelib1.inc";']


def test_dumps_output_is_read_by_qiskit_with_the_same_meaning():
    _inner, outer = _composites()
    c = Circuit(3).h([0, 1, 2])
    c.append(outer, [0, 1, 2], [0.5, 0.25])
    c.rzx(0.3, 2, 0).ryy(-0.8, 1, 2).cu(0.1, 0.2, 0.3, 0.4, 0, 1).ecr(2, 1)
    text = qasm2.dumps(c)
    qc = qiskit_loads(text)
    assert_same_unitary(c, qc)


def test_dumps_prints_pi_and_exact_floats():
    c = Circuit(1).rx(math.pi, 0).rx(0.1, 0).rx(-math.pi, 0).rx(1e-300, 0)
    body = qasm2.dumps(c).splitlines()[3:]
    assert body == ["rx(pi) q[0];", "rx(0.1) q[0];", "rx(-3.141592653589793) q[0];", "rx(1e-300) q[0];"]
    assert qasm2.loads(qasm2.dumps(c)) == c


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: Circuit(1).unitary(np.eye(2), [0]), "cannot express a 'unitary'"),
        (lambda: Circuit(1).rx(theta, 0), "unbound parameter(s) theta"),
        (lambda: _partial_condition(), "only on a whole creg"),
        (lambda: _register_named("h"), "register 'h'"),
        (lambda: _register_named("pi"), "register 'pi'"),
        (lambda: _gate_with_param(Parameter("Theta")), "parameter of gate 'g', 'Theta'"),
        (lambda: _gate_with_expression(kp.asin(theta)), "no function 'asin'"),
        (lambda: _two_gates_named_g(), "two different gates are called 'g'"),
    ],
    ids=[
        "unitary",
        "free-parameter",
        "partial-condition",
        "register-h",
        "register-pi",
        "param-name",
        "asin",
        "two-g",
    ],
)
def test_dumps_refuses_what_openqasm2_cannot_express(build, message):
    with pytest.raises(CircuitError) as info:
        qasm2.dumps(build())
    assert message in str(info.value)


def _partial_condition():
    a = Circuit(1, 2)
    b = Circuit(1, 1)
    with b.if_test("c", 1):
        b.x(0)
    return a.compose(b, clbits=[1])


def _register_named(name):
    c = Circuit()
    c.add_qreg(name, 1)
    return c.x(0)


def _gate_with_param(p):
    g = Circuit(1, name="g").rx(p, 0).to_gate()
    return Circuit(1).append(g, [0], [0.5])


def _gate_with_expression(e):
    g = Circuit(1, name="g").rx(e, 0).to_gate(params=[theta])
    return Circuit(1).append(g, [0], [0.5])


def _two_gates_named_g():
    g1 = Circuit(1, name="g").x(0).to_gate()
    g2 = Circuit(1, name="g").y(0).to_gate()
    h = Circuit(1, name="hh")
    h.append(g2, [0])
    return Circuit(1).append(g1, [0]).append(h.to_gate(), [0])


def test_dump_writes_atomically_and_keeps_the_old_file_on_failure(tmp_path):
    path = tmp_path / "c.qasm"
    qasm2.dump(Circuit(2).h(0).cx(0, 1), path)
    old = path.read_text()
    assert qasm2.load(path) == Circuit(2).h(0).cx(0, 1)
    with pytest.raises(CircuitError):
        qasm2.dump(Circuit(1).unitary(np.eye(2), [0]), path)
    assert path.read_text() == old
    assert os.listdir(tmp_path) == ["c.qasm"]  # no temporary file left behind
    qasm2.dump(Circuit(1).x(0), str(path))
    assert qasm2.load(path).count_ops() == {"x": 1}


def test_dump_failure_while_writing_leaves_no_file(tmp_path, monkeypatch):
    path = tmp_path / "d.qasm"

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        qasm2.dump(Circuit(1).x(0), path)
    assert os.listdir(tmp_path) == []


def test_extra_definitions_match_the_gate_table():
    # Every table gate must be writable: in qelib1.inc, or with a definition dumps knows.
    for name, spec in GATES.items():
        c = Circuit(spec.num_qubits).gate(name, list(range(spec.num_qubits)), [0.37] * spec.num_params)
        back = qasm2.loads(qasm2.dumps(c))
        assert back == c, name
    for name, text in qasm2._EXTRA_DEFINITIONS.items():
        params = [0.37] * GATES[name].num_params
        call = f"{name}({', '.join(map(str, params))})" if params else name
        qc = qiskit_loads(f'include "qelib1.inc"; {text} qreg q[2]; {call} q[0], q[1];')
        u = Operator(qc).data
        assert np.allclose(u, gate_matrix(name, params), atol=1e-12), name


# --- property: random circuits round-trip -----------------------------------------------------

_SMALL_GATES = [n for n, s in GATES.items() if s.num_qubits <= 3]
_angles = st.one_of(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
    st.sampled_from([math.pi, -math.pi, math.pi / 2, 0.0, -0.0, 1e-300, 5e-324]),
)


@st.composite
def random_circuits(draw):
    c = Circuit(0)
    for k in range(draw(st.integers(1, 2))):
        c.add_qreg(f"q{k}", draw(st.integers(1, 2)))
    for k in range(draw(st.integers(0, 2))):
        c.add_creg(f"c{k}", draw(st.integers(1, 2)))
    n = c.num_qubits
    a, b = Parameter("a"), Parameter("b")
    g1 = Circuit(1, name="g1").rz(a * 2 + b, 0).sx(0).rx(-a / kp.sqrt(b**2 + 1), 0).to_gate(params=[a, b])
    g2 = Circuit(2, name="g2").cx(0, 1).p(a**2, 1).to_gate(params=[a]) if n >= 2 else None
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["gate", "gate", "composite", "measure", "reset", "barrier"]))
        cond = None
        if c.cregs and kind in ("gate", "composite", "measure", "reset") and draw(st.booleans()):
            reg = draw(st.sampled_from(c.cregs))
            cond = (reg.name, draw(st.integers(0, (1 << reg.size) - 1)))
        ctx = c.if_test(*cond) if cond else _nullcontext()
        with ctx:
            if kind == "gate":
                name = draw(st.sampled_from([g for g in _SMALL_GATES if GATES[g].num_qubits <= n]))
                spec = GATES[name]
                qs = draw(st.permutations(range(n)))[: spec.num_qubits]
                c.gate(name, qs, [draw(_angles) for _ in range(spec.num_params)])
            elif kind == "composite":
                if g2 is not None and draw(st.booleans()):
                    qs = draw(st.permutations(range(n)))[:2]
                    c.append(g2, qs, [draw(_angles)])
                else:
                    c.append(g1, [draw(st.integers(0, n - 1))], [draw(_angles), draw(_angles)])
            elif kind == "measure":
                if c.num_clbits:
                    c.measure(draw(st.integers(0, n - 1)), draw(st.integers(0, c.num_clbits - 1)))
            elif kind == "reset":
                c.reset(draw(st.integers(0, n - 1)))
            elif cond is None:
                qs = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
                c.barrier(qs)
    return c


class _nullcontext:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_circuits())
def test_dumps_then_loads_gives_the_same_circuit(circuit):
    assert qasm2.loads(qasm2.dumps(circuit)) == circuit
