"""Coupling-map rules of the built-in devices, generated from their lattices (no data files).

Every function returns undirected edges ``(a, b)`` with ``a < b``, sorted. Qubits are
numbered row by row.

This module imports nothing from Kizuna.
"""

from __future__ import annotations

__all__ = ["grid_edges", "heavy_hex_edges", "heavy_hex_size", "line_edges", "ring_edges"]


def line_edges(num_qubits: int) -> list[tuple[int, int]]:
    """``0 - 1 - 2 - ... - (n-1)``.

    Example:
        >>> line_edges(4)
        [(0, 1), (1, 2), (2, 3)]
    """
    return [(q, q + 1) for q in range(num_qubits - 1)]


def ring_edges(num_qubits: int) -> list[tuple[int, int]]:
    """A line closed into a cycle (``n >= 3``).

    Example:
        >>> ring_edges(4)
        [(0, 1), (0, 3), (1, 2), (2, 3)]
    """
    return sorted(line_edges(num_qubits) + [(0, num_qubits - 1)])


def grid_edges(rows: int, columns: int) -> list[tuple[int, int]]:
    """Nearest neighbours of a ``rows x columns`` square lattice; qubit ``r * columns + c``.

    Example:
        >>> grid_edges(2, 2)
        [(0, 1), (0, 2), (1, 3), (2, 3)]
    """
    edges = []
    for r in range(rows):
        for c in range(columns):
            q = r * columns + c
            if c + 1 < columns:
                edges.append((q, q + 1))
            if r + 1 < rows:
                edges.append((q, q + columns))
    return sorted(edges)


def _heavy_hex_rows(rows: int, columns: int):
    """Per row: the columns it holds; per gap between rows: the columns of its bridge qubits."""
    bridge_cols = [list(range(0 if g % 2 == 0 else 2, columns, 4)) for g in range(rows - 1)]
    row_cols = []
    for r in range(rows):
        cols = list(range(columns))
        # Trim the end qubit that no bridge reaches: the last column of the first row, and on
        # the last row the column at the end its bridges do not reach (as IBM's Eagle lattice).
        if r == 0:
            cols = cols[:-1]
        elif r == rows - 1:
            cols = cols[1:] if bridge_cols[-1][0] == 2 else cols[:-1]
        row_cols.append(cols)
    return row_cols, bridge_cols


def heavy_hex_size(rows: int, columns: int) -> int:
    """Number of qubits of ``heavy_hex_edges(rows, columns)``.

    Example:
        >>> heavy_hex_size(7, 15)
        127
    """
    row_cols, bridge_cols = _heavy_hex_rows(rows, columns)
    return sum(map(len, row_cols)) + sum(map(len, bridge_cols))


def heavy_hex_edges(rows: int, columns: int) -> list[tuple[int, int]]:
    """IBM's heavy-hex lattice: ``rows`` lines of ``columns`` qubits joined by bridge qubits.

    Between row ``g`` and ``g + 1`` a bridge qubit joins the two rows at every fourth column,
    starting at column 0 for even ``g`` and column 2 for odd ``g``; every qubit has degree
    at most 3 and the faces are 12-cycles. The first row drops its last column and the last
    row the end column its bridges miss. Numbering: row 0 left to right, then its bridges left
    to right, then row 1, ... With ``rows=7, columns=15`` this is the 127-qubit Eagle layout
    (144 edges; for example edges (0, 14), (14, 18), (112, 126)).

    Example:
        >>> len(heavy_hex_edges(7, 15))
        144
    """
    row_cols, bridge_cols = _heavy_hex_rows(rows, columns)
    index: dict[tuple[str, int, int], int] = {}
    q = 0
    for r in range(rows):
        for c in row_cols[r]:
            index[("row", r, c)] = q
            q += 1
        if r < rows - 1:
            for c in bridge_cols[r]:
                index[("bridge", r, c)] = q
                q += 1
    edges = []
    for r in range(rows):
        cols = row_cols[r]
        edges += [(index[("row", r, c)], index[("row", r, c + 1)]) for c in cols[:-1]]
    for g in range(rows - 1):
        for c in bridge_cols[g]:
            b = index[("bridge", g, c)]
            edges.append((index[("row", g, c)], b))
            edges.append((b, index[("row", g + 1, c)]))
    return sorted((min(a, b), max(a, b)) for a, b in edges)
