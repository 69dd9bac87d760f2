// Quantum teleportation of ry(theta)|0> from q[0] to q[2], with theta = 2*pi/3.
//
// The state to send is cos(pi/3)|0> + sin(pi/3)|1>, so measuring it directly gives 1 with
// probability sin(pi/3)^2 = 3/4. Alice holds q[0] and q[1], Bob holds q[2]:
//   1. q[1] and q[2] share a Bell pair;
//   2. Alice does a Bell-basis measurement of q[0] and q[1] (CNOT, Hadamard, two mid-circuit
//      measurements), sending two classical bits to Bob: q[1]'s outcome in c0, q[0]'s in c1;
//   3. Bob corrects q[2] with X if c0 == 1 and Z if c1 == 1 (classically conditioned gates).
// After the corrections q[2] holds the original state whatever Alice measured, so its
// register c2 reads 1 in about 3/4 of the shots. Count keys read "c2 c1 c0" (the first
// declared register rightmost); c0 and c1 are uniformly random.
//
//   kizuna run examples/teleportation.qasm --shots 4000 --seed 3
OPENQASM 2.0;
include "qelib1.inc";

qreg q[3];
creg c0[1];
creg c1[1];
creg c2[1];

// the state to teleport
ry(2*pi/3) q[0];

// a Bell pair between Alice's q[1] and Bob's q[2]
h q[1];
cx q[1], q[2];
barrier q;

// Alice's Bell-basis measurement
cx q[0], q[1];
h q[0];
measure q[1] -> c0[0];
measure q[0] -> c1[0];
barrier q;

// Bob's corrections, conditioned on Alice's two bits
if(c0==1) x q[2];
if(c1==1) z q[2];

measure q[2] -> c2[0];
