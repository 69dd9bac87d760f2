"""Text diagrams of circuits: ``draw_text(circuit)`` (also ``str(circuit)``).

The layout follows Qiskit's text drawer, which users already read: one wire per qubit
(``q_0:``), one bundled wire per classical register (``c: 2/═``), instructions packed into
columns greedily from the left (an instruction goes into the first column after the last one
that touches any wire it spans; it blocks every wire between its top and bottom wire), boxes
with ``Instruction.label()``, ``■`` for controls, ``X``—``X`` for swaps, ``M`` with a double
connector down to the classical wire and the bit index below it, ``|0>`` for reset, ``░`` for
barriers, and a condition as a double connector to ``■`` on its register with the value in hex
(``0x1``) below.

Each wire takes one text row and the wires are separated by one shared row, so a text block
has ``2 * (num_qubits + num_cregs) + 1`` lines, all of the same length. Box-drawing characters
that meet in a shared row are merged (``└───┘`` above ``┌───┐`` gives ``├───┤``).

Cost: O(number of instructions × number of wires) time and text.

This module imports only the circuit IR; nothing above ``computing``.
"""

from __future__ import annotations

from collections.abc import Iterable

from .circuit import Circuit, Instruction

__all__ = ["draw_text"]

# Controlled table gates: name -> (number of controls, base gate drawn on the target).
_CONTROLLED: dict[str, tuple[int, str]] = {
    "cx": (1, "x"),
    "cy": (1, "y"),
    "cz": (1, "z"),
    "ch": (1, "h"),
    "csx": (1, "sx"),
    "crx": (1, "rx"),
    "cry": (1, "ry"),
    "crz": (1, "rz"),
    "cp": (1, "p"),
    "cu1": (1, "u1"),
    "cu3": (1, "u3"),
    "cu": (1, "u"),
    "ccx": (2, "x"),
    "c3x": (3, "x"),
    "c4x": (4, "x"),
    "c3sqrtx": (3, "sx"),
    "cswap": (1, "swap"),
}

# Light box-drawing characters as sets of the directions their lines leave the cell in, so
# two of them written into one cell merge into the character with the union of directions.
_U, _D, _L, _R = 1, 2, 4, 8
_DIRS = {
    "─": _L | _R,
    "│": _U | _D,
    "┌": _R | _D,
    "┐": _L | _D,
    "└": _U | _R,
    "┘": _U | _L,
    "├": _U | _D | _R,
    "┤": _U | _D | _L,
    "┬": _L | _R | _D,
    "┴": _L | _R | _U,
    "┼": _U | _D | _L | _R,
}
_CHAR = {v: k for k, v in _DIRS.items()}
_CHAR.update({_U: "│", _D: "│", _L: "─", _R: "─"})


class _Column:
    """One column of the diagram: cells keyed by (row, x), x relative to the column's centre
    line (where every vertical connector runs)."""

    def __init__(self, num_rows: int):
        self.num_rows = num_rows
        self.cells: dict[tuple[int, int], int | str] = {}

    def put(self, row: int, x: int, ch: str) -> None:
        old = self.cells.get((row, x))
        if ch in _DIRS and isinstance(old, int):
            self.cells[(row, x)] = old | _DIRS[ch]
        else:
            self.cells[(row, x)] = _DIRS.get(ch, ch)

    def text(self, row: int, s: str, centre: int) -> None:
        """Write ``s`` so that ``s[centre]`` lands on the centre line."""
        for i, ch in enumerate(s):
            self.put(row, i - centre, ch)

    def add_dirs(self, row: int, x: int, dirs: int) -> None:
        old = self.cells.get((row, x))
        self.cells[(row, x)] = (old if isinstance(old, int) else 0) | dirs

    def empty(self, row: int, x: int = 0) -> bool:
        return (row, x) not in self.cells

    def render(self, wire_fill: list[str]) -> list[str]:
        """The column as one string per row; ``wire_fill[row]`` fills empty cells."""
        xs = [x for _, x in self.cells] or [0]
        lo, hi = min(xs), max(xs)
        out = []
        for row in range(self.num_rows):
            chars = []
            for x in range(lo, hi + 1):
                c = self.cells.get((row, x))
                if c is None:
                    chars.append(wire_fill[row])
                elif isinstance(c, int):
                    chars.append(_CHAR[c])
                else:
                    chars.append(c)
            out.append("".join(chars))
        return out


class _Layout:
    """Wires, rows and the mapping from qubits/clbits to wires."""

    def __init__(self, circuit: Circuit):
        self.num_qubits = circuit.num_qubits
        self.cregs = circuit.cregs
        self.num_wires = circuit.num_qubits + len(self.cregs)
        self.num_rows = 2 * self.num_wires + 1
        self.clbit_wire: dict[int, int] = {}
        self.clbit_index: dict[int, int] = {}
        for k, reg in enumerate(self.cregs):
            for i, b in enumerate(reg.indices):
                self.clbit_wire[b] = self.num_qubits + k
                self.clbit_index[b] = i
        self.labels: list[str] = []
        for reg in circuit.qregs:
            self.labels.extend(f"{reg.name}_{i}: " for i in range(reg.size))
        self.labels.extend(f"{reg.name}: {reg.size}/" for reg in self.cregs)
        self.fill = [" "] * self.num_rows
        for w in range(self.num_wires):
            self.fill[self.mid(w)] = "─" if w < self.num_qubits else "═"

    @staticmethod
    def mid(wire: int) -> int:
        return 2 * wire + 1

    def is_qubit_row(self, row: int) -> bool:
        return row % 2 == 1 and row // 2 < self.num_qubits

    def creg_wire(self, register: str, clbits: Iterable[int]) -> int:
        for k, reg in enumerate(self.cregs):
            if reg.name == register:
                return self.num_qubits + k
        return self.clbit_wire[next(iter(clbits))]

    def span(self, ins: Instruction) -> tuple[int, int]:
        wires = list(ins.qubits)
        wires.extend(self.clbit_wire[b] for b in ins.clbits)
        if ins.condition is not None:
            wires.append(self.creg_wire(ins.condition.register, ins.condition.clbits))
        return min(wires), max(wires)


def _layers(layout: _Layout, instructions: Iterable[Instruction]) -> list[list[Instruction]]:
    """Greedy left packing: each instruction goes into the first column after the last one
    that uses any wire between its top and bottom wire."""
    level = [0] * layout.num_wires
    columns: list[list[Instruction]] = []
    for ins in instructions:
        if not ins.qubits and not ins.clbits:
            continue
        lo, hi = layout.span(ins)
        col = max(level[lo : hi + 1])
        for w in range(lo, hi + 1):
            level[w] = col + 1
        if col == len(columns):
            columns.append([])
        columns[col].append(ins)
    return columns


# --- elements -----------------------------------------------------------------------------------
def _box(col: _Column, wire: int, label: str, up: bool = False, down: bool = False) -> None:
    """A one-wire box ``┤ label ├``; ``up``/``down`` open its edge for a connector."""
    inner = f" {label} "
    w = len(inner) + 2
    c = w // 2
    r = _Layout.mid(wire)
    col.text(r - 1, "┌" + "─" * len(inner) + "┐", c)
    col.text(r, "┤" + inner + "├", c)
    col.text(r + 1, "└" + "─" * len(inner) + "┘", c)
    if up:
        col.add_dirs(r - 1, 0, _U)
    if down:
        col.add_dirs(r + 1, 0, _D)


def _multi_box(col: _Column, layout: _Layout, qubits: tuple[int, ...], label: str) -> None:
    """A box over the wires ``min(qubits)..max(qubits)``, numbered by argument position unless
    the qubits are contiguous and in order."""
    lo, hi = min(qubits), max(qubits)
    numbered = qubits != tuple(range(lo, lo + len(qubits)))
    pos = {q: str(i) for i, q in enumerate(qubits)}
    nw = max(len(s) for s in pos.values()) if numbered else 0
    top, bottom = _Layout.mid(lo) - 1, _Layout.mid(hi) + 1
    middle = (top + bottom) // 2
    inner_w = nw + len(label) + 2
    w = inner_w + 2
    c = w // 2
    col.text(top, "┌" + "─" * inner_w + "┐", c)
    col.text(bottom, "└" + "─" * inner_w + "┘", c)
    for row in range(top + 1, bottom):
        num = ""
        if row % 2 == 1 and numbered:
            num = pos.get(row // 2, "")
        text = label if row == middle else " " * len(label)
        inner = num.ljust(nw) + " " + text + " "
        if row % 2 == 1 and row // 2 in pos:
            col.text(row, "┤" + inner + "├", c)
        else:
            col.text(row, "│" + inner + "│", c)


def _vertical(col: _Column, layout: _Layout, lo: int, hi: int, anchors: set[int]) -> None:
    """A light connector on the centre line from wire ``lo`` to wire ``hi``, crossing the wires
    that are not ``anchors``."""
    for row in range(_Layout.mid(lo) + 1, _Layout.mid(hi)):
        if row % 2 == 1:
            if row // 2 not in anchors:
                col.put(row, 0, "┼")
        elif col.empty(row):
            col.put(row, 0, "│")


def _classical(col: _Column, layout: _Layout, from_row: int, ins: Instruction) -> None:
    """The double connector from ``from_row`` down to the classical wires the instruction
    writes (measure) or reads (condition), with their markers and annotations."""
    marks: dict[int, list[str]] = {}  # creg wire -> annotations
    symbol: dict[int, str] = {}
    for b in ins.clbits:
        w = layout.clbit_wire[b]
        marks.setdefault(w, []).append(str(layout.clbit_index[b]))
        symbol[w] = "╩"
    if ins.condition is not None:
        cond = ins.condition
        w = layout.creg_wire(cond.register, cond.clbits)
        marks.setdefault(w, []).append(hex(cond.value))
        symbol.setdefault(w, "■")
    last = max(marks)
    for row in range(from_row, _Layout.mid(last) + 1):
        wire = row // 2
        if row % 2 == 0:
            if col.empty(row):
                col.put(row, 0, "║")
        elif wire in symbol:
            col.put(row, 0, symbol[wire])
        elif layout.is_qubit_row(row):
            col.put(row, 0, "╫")
        else:
            col.put(row, 0, "╬")
    for w, notes in marks.items():
        text = " ".join(notes)
        row = _Layout.mid(w) + 1
        if w != last:  # the connector goes on through this row: annotate beside it
            col.text(row, text, -1)
        else:
            col.text(row, text, (len(text) - 1) // 2)


def _draw_instruction(col: _Column, layout: _Layout, ins: Instruction) -> None:
    qs = ins.qubits
    needs_classical = bool(ins.clbits) or ins.condition is not None
    below = None  # row where the classical connector starts

    if ins.name == "barrier":
        members = set(qs)
        for q in qs:
            col.text(_Layout.mid(q), "─░─", 1)
            if q + 1 in members:
                col.put(_Layout.mid(q) + 1, 0, "░")
        return

    if ins.name == "measure":
        r = _Layout.mid(qs[0])
        col.text(r - 1, "┌─┐", 1)
        col.text(r, "┤M├", 1)
        col.text(r + 1, "└╥┘", 1)
        _classical(col, layout, r + 2, ins)
        return

    if ins.name == "reset":
        col.text(_Layout.mid(qs[0]), "─|0>─", 2)
        below = _Layout.mid(qs[0]) + 1
    elif ins.name in _CONTROLLED:
        nc, base = _CONTROLLED[ins.name]
        controls, targets = qs[:nc], qs[nc:]
        lo, hi = min(qs), max(qs)
        for q in controls:
            col.text(_Layout.mid(q), "─■─", 1)
        if base == "swap":
            for q in targets:
                col.text(_Layout.mid(q), "─X─", 1)
        else:
            (t,) = targets
            label = ins.replace(name=base).label()
            _box(col, t, label, up=t > lo, down=t < hi or needs_classical)
        _vertical(col, layout, lo, hi, set(qs))
        below = _Layout.mid(hi) + 1
    elif ins.name == "swap":
        for q in qs:
            col.text(_Layout.mid(q), "─X─", 1)
        _vertical(col, layout, min(qs), max(qs), set(qs))
        below = _Layout.mid(max(qs)) + 1
    elif len(qs) == 1:
        _box(col, qs[0], ins.label(), down=needs_classical)
        below = _Layout.mid(qs[0]) + 1
    else:
        _multi_box(col, layout, qs, ins.label())
        below = _Layout.mid(max(qs)) + 1
        if needs_classical:
            col.add_dirs(below, 0, _D)

    if needs_classical:
        if isinstance(col.cells.get((below, 0)), int):
            col.cells[(below, 0)] = "╥"  # a box's bottom edge
            below += 1
        _classical(col, layout, below, ins)


# --- assembly -----------------------------------------------------------------------------------
def draw_text(circuit: Circuit, width: int | None = 80) -> str:
    r"""A Unicode text diagram of ``circuit``.

    Args:
        circuit: the circuit to draw.
        width: wrap the diagram into blocks of at most this many characters per line (a
            column wider than that still gets a block of its own); ``None`` never wraps.

    Returns:
        The diagram, blocks separated by a blank line, without a trailing newline; ``""``
        for a circuit without wires. Lines of one block all have the same length.

    Example:
        >>> from kizuna.computing.circuit import Circuit
        >>> text = draw_text(Circuit(2).h(0).cx(0, 1))
        >>> print("\n".join(line.rstrip() for line in text.splitlines()))
             ┌───┐
        q_0: ┤ h ├──■───
             └───┘┌─┴─┐
        q_1: ─────┤ x ├─
                  └───┘
    """
    layout = _Layout(circuit)
    if layout.num_wires == 0:
        return ""
    rendered: list[list[str]] = []
    for ins_list in _layers(layout, circuit.instructions):
        col = _Column(layout.num_rows)
        for ins in ins_list:
            _draw_instruction(col, layout, ins)
        rendered.append(col.render(layout.fill))

    label_w = max(len(s) for s in layout.labels)
    labels = [" " * label_w] * layout.num_rows
    for w, s in enumerate(layout.labels):
        labels[_Layout.mid(w)] = s.rjust(label_w)

    # Group columns into blocks that fit the width (the first block has no '«' prefix; every
    # line ends in one more character: the wire's end, or '»' where the diagram continues).
    blocks: list[list[list[str]]] = []
    current: list[list[str]] = []
    used = label_w + 1
    for cols in rendered:
        cw = len(cols[0])
        if width is not None and current and used + cw > width:
            blocks.append(current)
            current, used = [], label_w + 2
        current.append(cols)
        used += cw
    blocks.append(current)

    out = []
    for i, block in enumerate(blocks):
        last = i == len(blocks) - 1
        lines = []
        for row in range(layout.num_rows):
            prefix = labels[row] if i == 0 else ("«" if row % 2 else " ") + labels[row]
            body = "".join(c[row] for c in block)
            if not block:  # an empty circuit still shows its wires
                body = layout.fill[row] * 3
            if last:
                end = layout.fill[row]
            else:
                end = "»" if row % 2 else " "
            lines.append(prefix + body + end)
        out.append("\n".join(lines))
    return "\n\n".join(out)
