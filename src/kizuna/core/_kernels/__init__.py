"""Private array kernels: they take and return numpy arrays, nothing else.

``statevector`` holds the plain numpy versions; faster (numba) kernels sit beside them and are
tested against them.
"""
