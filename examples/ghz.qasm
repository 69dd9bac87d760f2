// Five-qubit GHZ state (Greenberger-Horne-Zeilinger): (|00000> + |11111>)/sqrt(2).
//
// A Hadamard on q[0], then a chain of CNOTs spreads its value to every other qubit. All five
// measurement outcomes agree: the counts hold only 00000 and 11111, about half each.
// GHZ states are the resource of GHZ-state metrology (phase sensitivity 1/N instead of
// 1/sqrt(N)) and of multi-party secret sharing.
//
//   kizuna run examples/ghz.qasm --seed 7
OPENQASM 2.0;
include "qelib1.inc";

qreg q[5];
creg c[5];

h q[0];
cx q[0], q[1];
cx q[1], q[2];
cx q[2], q[3];
cx q[3], q[4];
barrier q;
measure q -> c;
