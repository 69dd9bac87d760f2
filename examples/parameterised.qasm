// Parameterised gates: a user-defined gate with angle parameters, and angle expressions.
//
// `layer(theta, phi)` is one layer of a small variational ansatz: rotations whose angles are
// expressions of the gate's parameters (theta/2, -phi, phi + pi/4), then an entangling CNOT.
// The calls pass constant expressions: OpenQASM 2 allows + - * / ^, unary minus, pi and the
// functions sin, cos, tan, exp, ln and sqrt. A parser evaluates them once, at the call.
//
//   kizuna info examples/parameterised.qasm
//   kizuna run examples/parameterised.qasm --seed 2
OPENQASM 2.0;
include "qelib1.inc";

gate layer(theta, phi) a, b {
  ry(theta) a;
  ry(theta/2) b;
  rz(-phi) a;
  u3(theta, phi + pi/4, 0) b;
  cx a, b;
}

qreg q[2];
creg c[2];

layer(pi/4, sin(pi/4)) q[0], q[1];
layer(2*pi/3 - 0.1, cos(pi/6)^2) q[1], q[0];
rx(-pi/4 + ln(2)) q[0];
u1(sqrt(2)*exp(-1)) q[1];
measure q -> c;
