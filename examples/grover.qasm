// Grover search over 3 qubits (8 items) for the marked item |101>.
//
// `oracle` flips the phase of |101> only (q[0] = 1, q[1] = 0, q[2] = 1): x on q[1] turns the
// marked state into |111>, and h-ccx-h on q[2] is a doubly-controlled Z. `diffuser` reflects
// about the uniform superposition (inversion about the mean). With one marked item in N = 8
// the best number of iterations is round(pi/4 * sqrt(8)) = 2, after which the marked item is
// found with probability sin^2(5 * asin(1/sqrt(8))) = 0.945, against 1/8 by guessing.
//
//   kizuna run examples/grover.qasm --seed 5
OPENQASM 2.0;
include "qelib1.inc";

// phase flip on |101>
gate oracle a, b, c {
  x b;
  h c;
  ccx a, b, c;
  h c;
  x b;
}

// inversion about the mean: H^3 (2|0><0| - I) H^3, up to a global phase
gate diffuser a, b, c {
  h a; h b; h c;
  x a; x b; x c;
  h c;
  ccx a, b, c;
  h c;
  x a; x b; x c;
  h a; h b; h c;
}

qreg q[3];
creg c[3];

// uniform superposition over the 8 items
h q;

// two Grover iterations
oracle q[0], q[1], q[2];
diffuser q[0], q[1], q[2];
oracle q[0], q[1], q[2];
diffuser q[0], q[1], q[2];

measure q -> c;
