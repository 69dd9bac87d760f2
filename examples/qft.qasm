// Four-qubit quantum Fourier transform (QFT) of the basis state |5> = |0101>.
//
// x gates on q[0] and q[2] prepare |5> (qubit k has weight 2^k). The QFT maps a basis state
// |j> to (1/4) sum_k exp(2*pi*i*j*k/16) |k>: Hadamards, controlled phases cu1(pi/2^m)
// between pairs of qubits, and swaps that reverse the qubit order at the end. The result has
// equal magnitudes, so the counts are close to uniform over all 16 outcomes; the value 5 is
// in the phases (see kizuna.statevector). Appending the inverse QFT would give back 0101.
//
// The original qelib1.inc (OpenQASM 2 paper, which qiskit.qasm2 reads strictly) has no swap,
// so the file defines it from three CNOTs.
//
//   kizuna run examples/qft.qasm --seed 11 --top 0
OPENQASM 2.0;
include "qelib1.inc";

gate swap a, b {
  cx a, b;
  cx b, a;
  cx a, b;
}

qreg q[4];
creg c[4];

// prepare |0101>
x q[0];
x q[2];
barrier q;

// QFT, most significant qubit first
h q[3];
cu1(pi/2) q[2], q[3];
cu1(pi/4) q[1], q[3];
cu1(pi/8) q[0], q[3];
h q[2];
cu1(pi/2) q[1], q[2];
cu1(pi/4) q[0], q[2];
h q[1];
cu1(pi/2) q[0], q[1];
h q[0];
swap q[0], q[3];
swap q[1], q[2];

barrier q;
measure q -> c;
