// Bell state: the smallest example of entanglement.
//
// A Hadamard puts q[0] into (|0> + |1>)/sqrt(2); the CNOT copies it onto q[1] in the
// computational basis, giving (|00> + |11>)/sqrt(2). Measuring both qubits gives 00 or 11,
// each with probability 1/2, and never 01 or 10: the outcomes are perfectly correlated.
//
//   kizuna run examples/bell.qasm --shots 1000 --seed 1
OPENQASM 2.0;
include "qelib1.inc";

qreg q[2];
creg c[2];

h q[0];
cx q[0], q[1];
measure q -> c;
