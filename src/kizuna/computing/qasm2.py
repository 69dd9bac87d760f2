"""OpenQASM 2: read text into a ``Circuit`` (``loads``/``load``) and write one out (``dumps``/``dump``).

The whole OpenQASM 2.0 language is read: the optional ``OPENQASM 2.0;`` header, ``//`` comments,
``include`` (``qelib1.inc`` is built in; other files are read from disk), several ``qreg``/``creg``,
register broadcasting, ``gate`` definitions with parameters (they become ``CompositeGate``),
``opaque`` declarations, the built-ins ``U`` and ``CX``, expressions with ``+ - * / ^``, unary
minus, ``pi`` and ``sin cos tan exp ln sqrt``, ``measure``, ``reset``, ``barrier`` and
``if(creg==int)``.

What is accepted follows ``qiskit.qasm2.loads(text,
custom_instructions=qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS)``, Qiskit's default, permissive
reading of real-world files:

* the gates of ``qelib1.inc`` (``u3 u2 u1 cx id u0 u p x y z h s sdg t tdg rx ry rz sx sxdg cz
  cy swap ch ccx cswap crx cry crz cu1 cp cu3 csx cu rxx rzz rccx rc3x c3x c3sqrtx c4x``) map to
  the gates of the same name in ``kizuna.core.gates.GATES``; ``U`` is ``u`` and ``CX`` is ``cx``;
* ``u0 u p sx sxdg swap cswap crx cry cp csx cu rxx rzz rccx rc3x c3x c3sqrtx c4x`` are usable
  without an include; a file may define each of them (and, before including ``qelib1.inc``, each
  other ``qelib1.inc`` gate) once: the standard gate is then used, as Qiskit does, and a
  ``UserWarning`` says so when the file's body means something else;
* a file that defines ``ryy`` or ``rzx`` (table gates that ``qelib1.inc`` lacks) gets the table
  gate when the body's matrix equals it up to a global phase (checked at two parameter points),
  else a ``CompositeGate`` called ``ryy_custom`` (``CompositeGate`` may not take a table name);
* gates and registers share one namespace; a name may be defined only once;
* lists may end with a comma (``cx a, b,;``), lone ``;`` may stand between statements, and the
  version line, when present, must be the first statement.

Deliberately stricter than Qiskit: ``qreg q[0]`` (a ``Register`` holds at least one bit), an
``if`` value that does not fit in its register, a negative number raised to a fractional power
(Qiskit gives NaN) and calling an ``opaque`` gate (nothing can simulate it) are errors.

Every problem in the text raises ``kizuna.QasmError`` whose ``str`` reads ``file:line:col:
message`` (1-based line and column of the offending token). The first error in the file wins:
when the text has a syntax error, the whole statements before it are checked first. Parsing uses
lark's LALR parser with a small hand-written lexer (lark's generic lexer was four times slower
on the 440 kB files of QASMBench); the parser is built on first use, so ``import kizuna`` stays
fast.

This module imports ``core``, ``errors`` and its siblings ``circuit`` and ``parameters``;
``lark`` is imported when the first text is parsed.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core._io import atomic_write_text
from ..core.gates import GATES, embed, gate_matrix
from ..errors import CircuitError, QasmError
from . import parameters as _pm
from .circuit import Circuit, CompositeGate, Instruction, flatten
from .parameters import Parameter, ParameterExpression

__all__ = ["dump", "dumps", "load", "loads"]

# --- the language's fixed tables ---------------------------------------------------------------

#: ``qelib1.inc`` in the order Qiskit defines it (``qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS``
#: without ``delay``, which has no matrix).
_QELIB1 = (
    "u3", "u2", "u1", "cx", "id", "u0", "u", "p", "x", "y", "z", "h", "s", "sdg", "t", "tdg",
    "rx", "ry", "rz", "sx", "sxdg", "cz", "cy", "swap", "ch", "ccx", "cswap", "crx", "cry", "crz",
    "cu1", "cp", "cu3", "csx", "cu", "rxx", "rzz", "rccx", "rc3x", "c3x", "c3sqrtx", "c4x",
)  # fmt: skip
_QELIB1_SET = frozenset(_QELIB1)
#: The ``qelib1.inc`` gates Qiskit makes usable without an include (its ``builtin=True`` ones).
_ALWAYS = frozenset(
    "u0 u p sx sxdg swap cswap crx cry cp csx cu rxx rzz rccx rc3x c3x c3sqrtx c4x".split()  # noqa: SIM905
)
#: Definitions, in ``qelib1.inc`` gates, that ``dumps`` writes for table gates ``qelib1.inc``
#: lacks (the same bodies as Qiskit's exporter; ``loads`` maps them back to the table gate).
_EXTRA_DEFINITIONS = {
    "ryy": "gate ryy(theta) a,b { rx(pi/2) a; rx(pi/2) b; cx a,b; rz(theta) b; cx a,b; "
    "rx(-pi/2) a; rx(-pi/2) b; }",
    "rzx": "gate rzx(theta) a,b { h b; cx a,b; rz(theta) b; cx a,b; h b; }",
    "ecr": "gate ecr a,b { h b; cx a,b; rz(pi/4) b; cx a,b; h b; x a; "
    "h b; cx a,b; rz(-pi/4) b; cx a,b; h b; }",
}

_KEYWORDS = {
    "OPENQASM": "OPENQASM", "include": "INCLUDE", "qreg": "QREG", "creg": "CREG", "gate": "GATE",
    "opaque": "OPAQUE", "measure": "MEASURE", "reset": "RESET", "barrier": "BARRIER", "if": "IF",
    "pi": "PI", "U": "U", "CX": "CX",
    "sin": "FUNC", "cos": "FUNC", "tan": "FUNC", "exp": "FUNC", "ln": "FUNC", "sqrt": "FUNC",
}  # fmt: skip
_PUNCT = {
    "+": "PLUS", "-": "MINUS", "*": "STAR", "/": "SLASH", "^": "CARET", ";": "_SEMI",
    ",": "_COMMA", "(": "_LPAR", ")": "_RPAR", "[": "_LSQB", "]": "_RSQB", "{": "_LBRACE",
    "}": "_RBRACE", "->": "_ARROW", "==": "_EQ",
}  # fmt: skip
_IDENT = re.compile(r"[a-z][A-Za-z0-9_]*\Z")
_KW_ALT = "|".join(sorted((k for k in _KEYWORDS if k[0].islower()), key=len, reverse=True))

# One regular expression for every token; ``WS`` swallows blanks and comments, ``NL`` counts lines.
# ``BITREF`` reads ``q[3]`` as one token: it halves the token count of typical files (the parser
# still has a rule for the spelled-out form, so ``q[1.5]`` gets a proper message).
_TOKEN_RE = re.compile(
    rf"""
     (?P<WS>(?:[ \t\r\f\v]+|//[^\n]*)+)
    |(?P<NL>\n)
    |(?P<BITREF>(?!(?:{_KW_ALT})(?![A-Za-z0-9_]))[a-z][A-Za-z0-9_]*[ \t]*\[[ \t]*[0-9]+[ \t]*\])
    |(?P<ID>[a-z][A-Za-z0-9_]*)
    |(?P<REAL>(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+)
    |(?P<INT>[0-9]+)
    |(?P<P>->|==|[-+*/^;,()\[\]{{}}])
    |(?P<BADID>[A-Z_][A-Za-z0-9_]*)
    |(?P<STRING>"[^"\r\n]*"|'[^'\r\n]*')
    |(?P<ERR>.)
    """,
    re.VERBOSE,
)
_BITREF_RE = re.compile(r"([a-z][A-Za-z0-9_]*)[ \t]*\[[ \t]*([0-9]+)")

_STATEMENTS = (
    "version | include | qreg | creg | gate_def | opaque | call | measure | reset | barrier | if_stmt | empty"
)
_GRAMMAR = rf"""
start: ({_STATEMENTS})*

version: OPENQASM (REAL | INT) _SEMI
include: INCLUDE STRING _SEMI
qreg: QREG (ID _LSQB INT _RSQB | BITREF) _SEMI
creg: CREG (ID _LSQB INT _RSQB | BITREF) _SEMI
gate_def: GATE ID formals? id_list _LBRACE (call | barrier)* _RBRACE
opaque: OPAQUE ID formals? id_list _SEMI
formals: _LPAR [id_list] _RPAR
id_list: ID (_COMMA ID)* _COMMA?
call: (ID | U | CX) actuals? (ID | BITREF | bit_arg) (_COMMA (ID | BITREF | bit_arg))* _COMMA? _SEMI
actuals: _LPAR [exp (_COMMA exp)* _COMMA?] _RPAR
bit_arg: ID _LSQB INT _RSQB
measure: MEASURE (ID | BITREF | bit_arg) _ARROW (ID | BITREF | bit_arg) _SEMI
reset: RESET (ID | BITREF | bit_arg) _SEMI
barrier: BARRIER [(ID | BITREF | bit_arg) (_COMMA (ID | BITREF | bit_arg))* _COMMA?] _SEMI
if_stmt: IF _LPAR ID _EQ INT _RPAR (call | measure | reset | barrier)
empty: _SEMI

// OpenQASM 2 precedence: + - < * / < unary minus < ^ (right-associative, signed exponent)
?exp: sum
?sum: product | sum (PLUS | MINUS) product -> binop
?product: signed | product (STAR | SLASH) signed -> binop
?signed: power | (PLUS | MINUS) signed -> unary
?power: atom | atom CARET signed -> binop
?atom: INT | REAL | PI | ID
     | FUNC _LPAR exp _RPAR -> func
     | _LPAR exp _RPAR

%declare OPENQASM INCLUDE QREG CREG GATE OPAQUE MEASURE RESET BARRIER IF PI U CX FUNC
%declare PLUS MINUS STAR SLASH CARET _SEMI _COMMA _LPAR _RPAR _LSQB _RSQB _LBRACE _RBRACE
%declare _ARROW _EQ BITREF REAL INT ID STRING BADID
"""

_STATEMENT_RULES = frozenset(_STATEMENTS.replace(" ", "").split("|"))

_parser_cache = None
_BadCharacter: type = Exception  # lark's UnexpectedInput subclass, made with the parser


def _parser():
    """The lark LALR parser, built once on first use."""
    global _parser_cache
    if _parser_cache is None:
        import lark
        from lark.lexer import Lexer, Token

        class _QasmLexer(Lexer):
            """Tokens for lark: positions are 1-based; keywords are retyped from names."""

            def __init__(self, lexer_conf=None):
                pass

            def lex(self, text):
                # ``_QasmText`` carries the file name so that character errors name it.
                filename = getattr(text, "filename", None)
                line, line_start = 1, 0
                keywords, punct = _KEYWORDS, _PUNCT
                for m in _TOKEN_RE.finditer(text):
                    kind = m.lastgroup
                    if kind == "WS":
                        continue
                    if kind == "NL":
                        line += 1
                        line_start = m.end()
                        continue
                    start = m.start()
                    value = m.group()
                    if kind == "ID" or kind == "BADID":
                        kind = keywords.get(value, kind)
                    elif kind == "P":
                        kind = punct[value]
                    elif kind == "ERR":
                        # raised as lark's own kind of error, so that the parser hands over its
                        # stack (the statements read so far) with it
                        raise _BadCharacter(
                            _character_error(text, start, line, start - line_start + 1, filename)
                        )
                    col = start - line_start + 1
                    yield Token(kind, value, start, line, col, line, col + len(value), m.end())

        global _BadCharacter

        class _BadCharacter(lark.exceptions.UnexpectedInput):
            def __init__(self, error: QasmError):
                super().__init__(error.message)
                self.error = error

        _parser_cache = lark.Lark(
            _GRAMMAR,
            parser="lalr",
            lexer=_QasmLexer,
            propagate_positions=True,
            maybe_placeholders=False,
        )
    return _parser_cache


class _QasmText(str):
    """The program text, tagged with its file name for the lexer's messages."""

    filename: str | None = None


def _character_error(text: str, pos: int, line: int, col: int, filename) -> QasmError:
    ch = text[pos]
    if text.startswith("/*", pos):
        msg = "block comments '/* */' are not OpenQASM 2; comment with '//'"
    elif ch in "\"'":
        msg = "unterminated string: a file name in quotes must end on the same line"
    elif ch == "=":
        msg = "unexpected '='; a condition compares with '==', as in if(c==1)"
    else:
        msg = f"unexpected character {ch!r}"
    return QasmError(msg, filename=filename, line=line, column=col)


# --- syntax errors: lark's exceptions into sentences ------------------------------------------

_WORDS = {
    "_SEMI": "';'", "_COMMA": "','", "_LPAR": "'('", "_RPAR": "')'", "_LSQB": "'['",
    "_RSQB": "']'", "_LBRACE": "'{'", "_RBRACE": "'}'", "_ARROW": "'->'", "_EQ": "'=='",
    "PLUS": "'+'", "MINUS": "'-'", "STAR": "'*'", "SLASH": "'/'", "CARET": "'^'",
    "ID": "a name", "BITREF": "an indexed name like q[0]", "INT": "an integer",
    "REAL": "a real number", "STRING": "a file name in quotes", "PI": "'pi'",
    "FUNC": "a function (sin, cos, tan, exp, ln, sqrt)", "OPENQASM": "'OPENQASM'",
    "INCLUDE": "'include'", "QREG": "'qreg'", "CREG": "'creg'", "GATE": "'gate'",
    "OPAQUE": "'opaque'", "MEASURE": "'measure'", "RESET": "'reset'", "BARRIER": "'barrier'",
    "IF": "'if'", "U": "'U'", "CX": "'CX'", "$END": "the end of the file",
}  # fmt: skip
_STATEMENT_STARTS = frozenset(
    "OPENQASM INCLUDE QREG CREG GATE OPAQUE MEASURE RESET BARRIER IF U CX ID _SEMI".split()  # noqa: SIM905
)
_EXPR_STARTS = frozenset(["INT", "REAL", "PI", "ID", "FUNC", "_LPAR", "PLUS", "MINUS"])
_OPERATORS = frozenset(["PLUS", "MINUS", "STAR", "SLASH", "CARET"])
_ORDER = list(_WORDS)


def _join(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " or " + parts[-1]


def _expected_phrase(expected: set[str], arg_word: str) -> str:
    exp = set(expected)
    parts = []
    if {"QREG", "GATE", "MEASURE"} <= exp:
        parts.append("a statement")
        exp -= _STATEMENT_STARTS
    elif {"ID", "U", "CX", "BARRIER"} <= exp:  # the start of a statement in a gate body
        parts += ["a gate call", "'barrier'"]
        exp -= {"ID", "U", "CX", "BARRIER"}
    if {"REAL", "PI", "FUNC"} <= exp:
        parts.append("an expression")
        exp -= _EXPR_STARTS
    if {"STAR", "SLASH", "CARET"} & exp:
        parts.append("an operator")
        exp -= _OPERATORS
    if {"ID", "BITREF"} <= exp:
        parts.append(arg_word)
        exp -= {"ID", "BITREF"}
    parts += [_WORDS.get(t, t) for t in sorted(exp, key=lambda t: _ORDER.index(t) if t in _WORDS else 99)]
    return _join(parts)


def _found_phrase(tok) -> str:
    if tok.type == "$END":
        return "the end of the file"
    if tok.type in _KEYWORDS.values() and tok.type != "PI":
        return f"the keyword '{tok.value}'"
    return f"'{tok.value}'"


def _tokens_of(item):
    from lark import Token, Tree

    if isinstance(item, Token):
        yield item
    elif isinstance(item, Tree):
        for c in item.children:
            yield from _tokens_of(c)


_QUBIT_WORD = "a qubit argument like q or q[0]"


def _context(state) -> tuple[str, str]:
    """(``after ...`` phrase, word for an argument) from the parser's stack at the error."""
    from lark import Token, Tree

    stack = getattr(state, "value_stack", None) or []
    in_body, closed = "", 0  # the innermost '{' on the stack that no '}' after it closes
    for i in range(len(stack) - 1, -1, -1):
        kind = getattr(stack[i], "type", None)
        closed += kind == "_RBRACE"
        if kind == "_LBRACE":
            if closed:
                closed -= 1
                continue
            gate = next(
                (stack[j + 1] for j in range(i - 1, -1, -1) if getattr(stack[j], "type", None) == "GATE"),
                None,
            )
            in_body = f"in the body of gate '{gate}'" if gate is not None else ""
            break
    partial = []
    for item in reversed(stack):
        if isinstance(item, Tree) and (item.data in _STATEMENT_RULES or str(item.data).startswith("__")):
            break
        if isinstance(item, Token) and item.type == "_LBRACE":
            break
        partial.append(item)
    partial.reverse()
    toks = [t for item in partial for t in _tokens_of(item)]
    if toks and toks[-1].type in ("_SEMI", "_RBRACE") and not any(t.type == "_LBRACE" for t in toks):
        toks = []  # a whole statement awaiting reduction: the error is at a statement's start
    if not toks:
        return in_body, _QUBIT_WORD
    if toks[0].type == "IF":
        closed = next((i for i, t in enumerate(toks) if t.type == "_RPAR"), None)
        if closed is None:
            return "in the if() condition", _QUBIT_WORD
        if closed + 1 < len(toks):  # the error is in the conditioned operation
            toks = toks[closed + 1 :]
    first, prev = toks[0], toks[-1]
    arg_word = _QUBIT_WORD
    if first.type == "MEASURE" and any(t.type == "_ARROW" for t in toks):
        arg_word = "a bit argument like c or c[0]"
    elif first.type in ("QREG", "CREG"):
        arg_word = "a register name and size like q[2]"
    depth = sum(1 for t in toks if t.type == "_LPAR") - sum(1 for t in toks if t.type == "_RPAR")
    if first.type in ("ID", "U", "CX"):  # only a gate call starts with a name
        if depth > 0:
            return f"in the parameters of '{first.value}'", arg_word
        if prev is first:
            return f"after gate name '{first.value}'", arg_word
        last = getattr(partial[-1], "data", None)  # a reduced rule hides its brackets
        if prev.type == "_RPAR" or last == "actuals":
            return f"after the parameters of '{first.value}'", arg_word
        if prev.type in ("ID", "BITREF", "_RSQB") or last == "bit_arg":
            return "after gate arguments", arg_word
        return f"after '{prev.value}'", arg_word
    if first.type in ("GATE", "OPAQUE") and depth > 0:
        return "in the parameter list of the gate definition", arg_word
    if depth > 0:
        return "inside '( )'", arg_word
    return f"after '{prev.value}'", arg_word


def _syntax_error(exc, text: str, filename: str) -> QasmError:
    from lark.exceptions import UnexpectedToken

    if isinstance(exc, UnexpectedToken):
        tok = exc.token
        if tok.type == "BADID":
            msg = (
                f"names must start with a lowercase letter (found '{tok.value}'); only the "
                "built-ins 'U' and 'CX' start with a capital"
            )
            return QasmError(msg, filename=filename, line=tok.line, column=tok.column)
        if tok.type == "SLASH" and text.startswith("/*", tok.start_pos):
            msg = "block comments '/* */' are not OpenQASM 2; comment with '//'"
            return QasmError(msg, filename=filename, line=tok.line, column=tok.column)
        context, arg_word = _context(getattr(exc, "state", None))
        expected = set(exc.expected)
        with contextlib.suppress(Exception):  # the exact set; exc.expected may hold LALR extras
            expected = exc.interactive_parser.accepts() or expected
        if context == "after gate arguments" and len(expected) > 1:
            expected.discard("_LSQB")  # 'q' may go on as 'q[0]', but that is rarely the slip
        expected = _expected_phrase(expected, arg_word)
        msg = f"expected {expected}"
        if context:
            msg += f" {context}"
        msg += f", found {_found_phrase(tok)}"
        if tok.type == "$END":
            line, col = _end_position(text)
        else:
            line, col = tok.line, tok.column
        return QasmError(msg, filename=filename, line=line, column=col)
    line = getattr(exc, "line", None)
    col = getattr(exc, "column", None)
    return QasmError(f"cannot parse: {type(exc).__name__}", filename=filename, line=line, column=col)


def _end_position(text: str) -> tuple[int, int]:
    """Line and column just after the last non-blank character (where a missing token goes)."""
    stripped = re.sub(r"(?:\s|//[^\n]*)+\Z", "", text)
    line = stripped.count("\n") + 1
    col = len(stripped) - (stripped.rfind("\n") + 1) + 1
    return line, col


class _SyntaxFailure(Exception):
    """A syntax error, with the whole statements read before it (checked first: an error of
    meaning on an earlier line is reported before a later slip of syntax, as Qiskit does)."""

    def __init__(self, error: QasmError, completed: list):
        super().__init__(str(error))
        self.error = error
        self.completed = completed


def _completed_statements(state) -> list:
    """The top-level statements the parser had finished when it stopped."""
    from lark import Tree

    out: list = []
    for item in getattr(state, "value_stack", None) or []:
        if isinstance(item, Tree) and str(item.data).startswith("__start"):
            out.extend(item.children)
        elif isinstance(item, Tree) and item.data in _STATEMENT_RULES:
            out.append(item)
        else:
            break
    return out


def _parse(text: str, filename: str):
    """The lark tree of ``text``; raises ``_SyntaxFailure`` on a syntax error."""
    from lark.exceptions import UnexpectedInput

    parser = _parser()
    tagged = _QasmText(text)
    tagged.filename = filename
    try:
        return parser.parse(tagged)
    except UnexpectedInput as exc:
        ip = getattr(exc, "interactive_parser", None)
        state = getattr(exc, "state", None) if ip is None else ip.parser_state
        if isinstance(exc, _BadCharacter):
            error = exc.error
        else:
            error = _syntax_error(exc, text, filename)
        completed = None
        if ip is not None:
            # A statement just finished is reduced only when the next token comes: close the
            # parse here to get it too (this works when the stop is at a statement boundary).
            with contextlib.suppress(Exception):
                completed = ip.copy(deepcopy_values=False).feed_eof().children
        if completed is None:
            completed = _completed_statements(state)
        raise _SyntaxFailure(error, completed) from None


# --- reading --------------------------------------------------------------------------------


@dataclass
class _Gate:
    """One gate the program may call."""

    name: str
    num_params: int
    num_qubits: int
    table: str | None = None  # the table gate applied
    composite: CompositeGate | None = None
    opaque: bool = False
    origin: str = "built in"


@dataclass
class _Reg:
    kind: str  # "qreg" or "creg"
    name: str
    size: int
    start: int
    origin: str

    def describe(self) -> str:
        return f"{self.kind} {self.name}[{self.size}]"


_Q_PROBE = ((0.731, 1.927, -0.417, 2.521), (-1.234, 0.319, 2.871, -2.05))


def _definition_matrix(gate: CompositeGate, values: Sequence[float]) -> np.ndarray:
    n = gate.num_qubits
    c = Circuit(n)
    c.append(gate, list(range(n)), list(values))
    u = np.eye(1 << n, dtype=np.complex128)
    for ins in flatten(c):
        u = embed(gate_matrix(ins.name, ins.params), ins.qubits, n) @ u
    return u


def _same_up_to_phase(a: np.ndarray, b: np.ndarray, atol: float = 1e-9) -> bool:
    k = int(np.argmax(np.abs(b)))
    bk = b.flat[k]
    if abs(bk) < 1e-12:
        return False
    phase = a.flat[k] / bk
    if abs(abs(phase) - 1) > 1e-9:
        return False
    return bool(np.allclose(a, phase * b, rtol=0, atol=atol))


def _matches_table(gate: CompositeGate, table_name: str) -> bool:
    spec = GATES[table_name]
    if spec.num_qubits != gate.num_qubits or spec.num_params != len(gate.params):
        return False
    for probe in _Q_PROBE:
        vals = probe[: spec.num_params]
        try:
            mine = _definition_matrix(gate, vals)
        except CircuitError:  # e.g. ln(theta) at a negative probe: not the table gate's body
            return False
        if not _same_up_to_phase(mine, gate_matrix(table_name, vals)):
            return False
    return True


_BITREF_CACHE: dict[str, tuple[str, int, int]] = {}


def _split_bitref(value: str) -> tuple[str, int, int]:
    """``"q[ 3]"`` -> ``("q", 3, offset of "3" in the token)``."""
    hit = _BITREF_CACHE.get(value)
    if hit is None:
        m = _BITREF_RE.match(value)
        hit = (m.group(1), int(m.group(2)), m.start(2))
        if len(_BITREF_CACHE) < 100_000:
            _BITREF_CACHE[value] = hit
    return hit


class _Reader:
    """Walks the parse trees of one program (and its includes) and builds the circuit."""

    def __init__(self, filename: str, base_dir: Path | None, include_path: Sequence[str | Path]):
        self.circuit = Circuit()
        self.filename = filename
        self.base_dir = base_dir
        self.include_path = [Path(p) for p in include_path]
        self.gates: dict[str, _Gate] = {
            "U": _Gate("U", 3, 1, table="u"),
            "CX": _Gate("CX", 0, 2, table="cx"),
        }
        for name in sorted(_ALWAYS):
            spec = GATES[name]
            self.gates[name] = _Gate(name, spec.num_params, spec.num_qubits, table=name)
        self.defined: set[str] = {"U", "CX"}  # names a gate/opaque/include may not define again
        self.regs: dict[str, _Reg] = {}
        self.include_stack: list[Path] = []
        self.statements_seen = 0
        self.current = None  # first token of the statement being read, for unexpected failures

    # --- errors -------------------------------------------------------------------------------
    def error(self, message: str, tok) -> QasmError:
        line = getattr(tok, "line", None)
        col = getattr(tok, "column", None)
        return QasmError(message, filename=self.filename, line=line, column=col)

    def where(self, tok) -> str:
        """The place of a declaration, kept for messages about a later clash."""
        return f"line {tok.line} of {self.filename}"

    def place(self, origin: str) -> str:
        """``origin`` as a message shows it: without the file name when it is the current file."""
        own = f" of {self.filename}"
        return origin.removesuffix(own)

    # --- driving --------------------------------------------------------------------------------
    def run(self, text: str) -> None:
        try:
            tree = _parse(text, self.filename)
        except _SyntaxFailure as failure:
            for st in failure.completed:
                self.statement(st)
            raise failure.error from None
        for st in tree.children:
            self.statement(st)

    def statement(self, st) -> None:
        kind = st.data
        first = st.children[0] if st.children else None
        self.current = _first_token(first)
        if kind != "empty":
            self.statements_seen += 1
        try:
            if kind == "call":
                self.call(st.children)
            elif kind == "measure":
                self.measure(st.children)
            elif kind == "barrier":
                self.barrier(st.children)
            elif kind == "reset":
                self.reset(st.children)
            elif kind == "if_stmt":
                self.if_stmt(st.children)
            elif kind == "qreg" or kind == "creg":
                self.register(kind, st.children)
            elif kind == "gate_def":
                self.gate_def(st.children)
            elif kind == "opaque":
                self.opaque(st.children)
            elif kind == "include":
                self.include(st.children)
            elif kind == "version":
                self.version(st.children)
            # "empty" (a lone ';') does nothing
        except CircuitError as exc:
            # The checks above should leave nothing for the circuit to refuse; if it does, the
            # message still gets the statement's place.
            raise self.error(str(exc), _first_token(first)) from None

    def version(self, ch) -> None:
        kw, num = ch
        if self.statements_seen != 1:
            raise self.error("the 'OPENQASM' version line must be the first statement", kw)
        if float(num.value) != 2.0:
            raise self.error(f"only OpenQASM 2.0 can be read (this file says {num.value})", num)

    # --- include ----------------------------------------------------------------------------
    def include(self, ch) -> None:
        _kw, string = ch
        name = string.value[1:-1]
        if name == "qelib1.inc":
            self.include_qelib1(string)
            return
        path = self.find_include(name, string)
        resolved = path.resolve()
        if resolved in self.include_stack:
            raise self.error(f"include cycle: '{name}' includes itself", string)
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self.error(f"include file '{name}' is not UTF-8 text ({exc.reason})", string) from None
        except OSError as exc:
            raise self.error(f"cannot read include file '{name}': {exc.strerror}", string) from None
        outer = (self.filename, self.base_dir, self.statements_seen)
        self.include_stack.append(resolved)
        self.filename = str(path)
        self.base_dir = path.parent
        self.statements_seen = 0
        try:
            self.run(text.lstrip("\ufeff"))
        finally:
            self.filename, self.base_dir, self.statements_seen = outer
            self.include_stack.pop()

    def find_include(self, name: str, tok) -> Path:
        p = Path(name)
        if p.is_absolute():
            if p.is_file():
                return p
            raise self.error(f"cannot find include file '{name}'", tok)
        dirs = ([self.base_dir] if self.base_dir is not None else []) + self.include_path
        if self.base_dir is None:
            dirs.append(Path.cwd())
        for d in dirs:
            cand = d / p
            if cand.is_file():
                return cand
        looked = ", ".join(str(d) for d in dirs) or "nowhere"
        raise self.error(f"cannot find include file '{name}' (looked in {looked})", tok)

    def include_qelib1(self, tok) -> None:
        for name in _QELIB1:
            if name in _ALWAYS:
                continue  # usable already; a file may still define it once (as Qiskit allows)
            if name in self.defined or name in self.regs:
                what = self.place(self.gates[name].origin if name in self.gates else self.regs[name].origin)
                if what == "qelib1.inc":
                    raise self.error("qelib1.inc is included twice", tok)
                raise self.error(f"qelib1.inc defines '{name}', which is already defined ({what})", tok)
        for name in _QELIB1:
            if name in _ALWAYS:
                continue
            spec = GATES[name]
            self.gates[name] = _Gate(name, spec.num_params, spec.num_qubits, table=name, origin="qelib1.inc")
            self.defined.add(name)

    # --- declarations -----------------------------------------------------------------------
    def check_new_name(self, name: str, tok, what: str) -> None:
        if name in self.regs:
            r = self.regs[name]
            raise self.error(
                f"cannot declare {what} '{name}': {r.describe()} is already declared ({self.place(r.origin)})",
                tok,
            )
        if name in self.gates:
            raise self.error(
                f"cannot declare {what} '{name}': a gate '{name}' already exists ({self.place(self.gates[name].origin)})",
                tok,
            )

    def register(self, kind: str, ch) -> None:
        kw = ch[0]
        if len(ch) == 2:
            name, size, off = _split_bitref(ch[1].value)
            name_tok = size_tok = ch[1]
            size_col = ch[1].column + off
        else:
            name_tok, size_tok = ch[1], ch[2]
            name, size, size_col = name_tok.value, int(size_tok.value), size_tok.column
        if name in self.regs and self.regs[name].kind == kind:
            raise self.error(
                f"{kind} '{name}' is already declared ({self.place(self.regs[name].origin)})", name_tok
            )
        self.check_new_name(name, name_tok, kind)
        if size < 1:
            raise QasmError(
                f"{kind} '{name}' must have at least one {'qubit' if kind == 'qreg' else 'bit'} (got size {size})",
                filename=self.filename,
                line=size_tok.line,
                column=size_col,
            )
        if kind == "qreg":
            reg = self.circuit.add_qreg(name, size)
        else:
            reg = self.circuit.add_creg(name, size)
        self.regs[name] = _Reg(kind, name, size, reg.start, self.where(kw))

    # --- gate definitions -------------------------------------------------------------------
    def gate_header(self, ch):
        name_tok = ch[1]
        rest = ch[2:]
        params: list = []
        if rest and getattr(rest[0], "data", None) == "formals":
            formals = rest[0]
            params = list(formals.children[0].children) if formals.children else []
            rest = rest[1:]
        qubits = list(rest[0].children)
        body = rest[1:]
        seen: dict[str, str] = {}
        for tok, role in [(t, "parameter") for t in params] + [(t, "qubit") for t in qubits]:
            if tok.value in seen:
                raise self.error(
                    f"'{tok.value}' is declared twice in gate '{name_tok.value}' (first as a {seen[tok.value]})",
                    tok,
                )
            seen[tok.value] = role
        return name_tok, [t.value for t in params], [t.value for t in qubits], body

    def check_gate_name(self, name_tok, num_params: int, num_qubits: int, keyword: str):
        """Returns the table gate a legacy name maps to, or None for a new gate."""
        name = name_tok.value
        if name in self.regs:
            r = self.regs[name]
            raise self.error(
                f"cannot define gate '{name}': {r.describe()} is already declared ({self.place(r.origin)})",
                name_tok,
            )
        if name in _QELIB1_SET:
            if name in self.defined:
                raise self.error(
                    f"gate '{name}' is already defined ({self.place(self.gates[name].origin)})", name_tok
                )
            spec = GATES[name]
            if (spec.num_params, spec.num_qubits) != (num_params, num_qubits):
                raise self.error(
                    f"{keyword} '{name}' must take {spec.num_params} parameter(s) and "
                    f"{spec.num_qubits} qubit(s) like the standard '{name}' (this one takes "
                    f"{num_params} and {num_qubits})",
                    name_tok,
                )
            return name
        if name in self.gates:
            raise self.error(
                f"gate '{name}' is already defined ({self.place(self.gates[name].origin)})", name_tok
            )
        return None

    def gate_def(self, ch) -> None:
        name_tok, params, qubits, body = self.gate_header(ch)
        name = name_tok.value
        legacy = self.check_gate_name(name_tok, len(params), len(qubits), "gate")
        scope = {p: Parameter(p) for p in params}
        qmap = {q: i for i, q in enumerate(qubits)}
        scratch = Circuit(len(qubits))
        for st in body:
            self.body_statement(st, name, scope, qmap, scratch)
        formal = tuple(scope[p] for p in params)
        origin = self.where(name_tok)
        if legacy is not None:
            definition = CompositeGate("_definition", len(qubits), formal, scratch.instructions)
            if not _matches_table(definition, legacy):
                warnings.warn(
                    f"{self.filename}:{name_tok.line}:{name_tok.column}: the body of gate "
                    f"'{name}' differs from the standard '{name}'; the standard gate is used "
                    "(as qiskit.qasm2 does)",
                    UserWarning,
                    stacklevel=4,
                )
            self.gates[name] = _Gate(name, len(params), len(qubits), table=legacy, origin=origin)
            self.defined.add(name)
            return
        if name in GATES:
            # ryy, rzx: table gates that qelib1.inc lacks; use the table when the body agrees.
            definition = CompositeGate("_definition", len(qubits), formal, scratch.instructions)
            if _matches_table(definition, name):
                self.gates[name] = _Gate(name, len(params), len(qubits), table=name, origin=origin)
                self.defined.add(name)
                return
            ir_name = self.fresh_name(f"{name}_custom")
        else:
            ir_name = name
        gate = CompositeGate(ir_name, len(qubits), formal, scratch.instructions)
        self.gates[name] = _Gate(name, len(params), len(qubits), composite=gate, origin=origin)
        self.defined.add(name)

    def fresh_name(self, base: str) -> str:
        name, k = base, 1
        while name in self.gates or name in self.regs or name in GATES:
            k += 1
            name = f"{base}{k}"
        return name

    def opaque(self, ch) -> None:
        name_tok, params, qubits, _ = self.gate_header(ch)
        name = name_tok.value
        legacy = self.check_gate_name(name_tok, len(params), len(qubits), "opaque gate")
        origin = self.where(name_tok)
        if legacy is not None:  # Qiskit's legacy gates stand in for opaque declarations too
            self.gates[name] = _Gate(name, len(params), len(qubits), table=legacy, origin=origin)
        else:
            self.gates[name] = _Gate(name, len(params), len(qubits), opaque=True, origin=origin)
        self.defined.add(name)

    def body_statement(self, st, gate_name, scope, qmap, scratch: Circuit) -> None:
        kind = st.data
        if kind == "call":
            name_tok = st.children[0]
            g = self.lookup_gate(name_tok, gate_name)
            rest = st.children[1:]
            exprs = []
            if rest and getattr(rest[0], "data", None) == "actuals":
                exprs = rest[0].children
                rest = rest[1:]
            self.check_counts(g, name_tok, len(exprs), len(rest))
            values = [self.expr(e, scope, gate_name) for e in exprs]
            qs = [self.body_qubit(a, gate_name, qmap) for a in rest]
            self.check_repeats(g.name, [qs], rest)
            try:
                if g.table is not None:
                    scratch.gate(g.table, qs, values)
                else:
                    scratch.append(g.composite, qs, values)
            except CircuitError as exc:
                raise self.error(str(exc), name_tok) from None
            return
        if kind == "barrier":
            qs = [self.body_qubit(a, gate_name, qmap) for a in st.children[1:]]
            if not qs:
                qs = list(range(scratch.num_qubits))
            scratch.barrier(list(dict.fromkeys(qs)))
            return
        # the grammar lets only calls and barriers into a body
        raise self.error(
            f"only gate calls and barriers may appear inside gate '{gate_name}'", _first_token(st)
        )

    def body_qubit(self, arg, gate_name, qmap) -> int:
        if not isinstance(arg, str):  # bit_arg tree
            tok = arg.children[0]
            text = f"{tok.value}[{arg.children[1].value}]"
        elif arg.type == "BITREF":
            tok, text = arg, arg.value
        else:
            i = qmap.get(arg.value)
            if i is None:
                names = ", ".join(qmap)
                raise self.error(
                    f"unknown qubit '{arg.value}' in gate '{gate_name}' (its qubits: {names})", arg
                )
            return i
        raise self.error(
            f"inside gate '{gate_name}', name qubits by the gate's arguments without an index (found '{text}')",
            tok,
        )

    # --- operations -------------------------------------------------------------------------
    def lookup_gate(self, name_tok, inside: str | None = None) -> _Gate:
        name = name_tok.value
        g = self.gates.get(name)
        if g is None:
            if name == inside:
                raise self.error(
                    f"gate '{name}' cannot call itself (a gate may use only gates defined before it)",
                    name_tok,
                )
            hint = ""
            if name in _QELIB1_SET:
                hint = ' (it is in qelib1.inc: add include "qelib1.inc";)'
            elif name in self.regs:
                hint = f" ('{name}' is a {self.regs[name].kind})"
            raise self.error(f"unknown gate '{name}'{hint}", name_tok)
        if g.opaque:
            raise self.error(
                f"gate '{name}' is opaque (declared without a body, {self.place(g.origin)}) and cannot be simulated",
                name_tok,
            )
        return g

    def check_counts(self, g: _Gate, name_tok, num_params: int, num_qubits: int) -> None:
        if num_params != g.num_params:
            raise self.error(f"gate '{g.name}' takes {g.num_params} parameter(s), got {num_params}", name_tok)
        if num_qubits != g.num_qubits:
            raise self.error(f"gate '{g.name}' takes {g.num_qubits} qubit(s), got {num_qubits}", name_tok)

    def check_repeats(self, name: str, instances, arg_nodes) -> None:
        for qs in instances:
            if len(set(qs)) != len(qs):
                seen = set()
                for j, q in enumerate(qs):
                    if q in seen:
                        raise self.error(
                            f"qubit {self.qubit_name(q)} is used twice in one call of '{name}'",
                            _first_token(arg_nodes[j]),
                        )
                    seen.add(q)

    def qubit_name(self, q: int) -> str:
        for r in self.regs.values():
            if r.kind == "qreg" and r.start <= q < r.start + r.size:
                return f"{r.name}[{q - r.start}]"
        return str(q)

    def arg(self, node, kind: str):
        """Resolve an argument: (int index or list of indices, description, token)."""
        if isinstance(node, str):
            if node.type == "ID":
                reg = self.reg_of(node.value, node, kind)
                return list(range(reg.start, reg.start + reg.size)), f"{reg.name}[{reg.size}]", node
            name, idx, off = _split_bitref(node.value)
            idx_line, idx_col = node.line, node.column + off
            tok = node
        else:
            tok, idx_tok = node.children
            name, idx = tok.value, int(idx_tok.value)
            idx_line, idx_col = idx_tok.line, idx_tok.column
        reg = self.reg_of(name, tok, kind)
        if idx >= reg.size:
            what = "qubit" if kind == "qreg" else "bit"
            raise QasmError(
                f"{what} index {idx} out of range for {reg.describe()}",
                filename=self.filename,
                line=idx_line,
                column=idx_col,
            )
        return reg.start + idx, None, tok

    def reg_of(self, name: str, tok, kind: str) -> _Reg:
        reg = self.regs.get(name)
        if reg is None:
            hint = f" ('{name}' is a gate)" if name in self.gates else ""
            raise self.error(f"register '{name}' not declared{hint}", tok)
        if reg.kind != kind:
            want = "a qubit argument needs a qreg" if kind == "qreg" else "a classical argument needs a creg"
            raise self.error(f"'{name}' is a {reg.kind}; {want}", tok)
        return reg

    def broadcast(self, resolved, name: str):
        """OpenQASM 2 broadcasting: registers of equal size zip, single qubits repeat."""
        size, desc0 = None, None
        for value, desc, tok in resolved:
            if desc is not None:
                if size is None:
                    size, desc0 = len(value), desc
                elif len(value) != size:
                    raise self.error(f"registers of different sizes in broadcast ({desc0}, {desc})", tok)
        if size is None:
            return [[v for v, _, _ in resolved]]
        return [[v[i] if d is not None else v for v, d, _ in resolved] for i in range(size)]

    def call(self, ch) -> None:
        name_tok = ch[0]
        g = self.lookup_gate(name_tok)
        rest = ch[1:]
        exprs = ()
        if rest and not isinstance(rest[0], str) and rest[0].data == "actuals":
            exprs = rest[0].children
            rest = rest[1:]
        self.check_counts(g, name_tok, len(exprs), len(rest))
        values = [self.expr(e, None, None) for e in exprs]
        resolved = [self.arg(a, "qreg") for a in rest]
        if all(d is None for _, d, _ in resolved):
            qs = [v for v, _, _ in resolved]
            if len(qs) > 1:
                self.check_repeats(g.name, [qs], rest)
        else:
            self.check_repeats(g.name, self.broadcast(resolved, g.name), rest)
            qs = [v for v, _, _ in resolved]
        try:
            if g.table is not None:
                self.circuit.gate(g.table, qs, values)
            else:
                self.circuit.append(g.composite, qs, values)
        except CircuitError as exc:
            raise self.error(str(exc), name_tok) from None

    def measure(self, ch) -> None:
        _kw, qarg, carg = ch
        q, qd, qtok = self.arg(qarg, "qreg")
        c, cd, ctok = self.arg(carg, "creg")
        if (qd is None) != (cd is None):
            qtext = qd or self.qubit_name(q)
            raise self.error(
                f"measure needs two registers of the same size or two single bits (got {qtext} -> {cd or _first_token(carg).value})",
                ctok if cd is not None else qtok,
            )
        if qd is not None and len(q) != len(c):
            raise self.error(f"registers of different sizes in measure ({qd}, {cd})", ctok)
        self.circuit.measure(q, c)

    def reset(self, ch) -> None:
        q, _, _ = self.arg(ch[1], "qreg")
        self.circuit.reset(q)

    def barrier(self, ch) -> None:
        qs: list[int] = []
        for a in ch[1:]:
            v, d, _ = self.arg(a, "qreg")
            if d is None:
                qs.append(v)
            else:
                qs.extend(v)
        if not ch[1:]:
            if self.circuit.num_qubits:
                self.circuit.barrier()
            return
        self.circuit.barrier(list(dict.fromkeys(qs)))

    def if_stmt(self, ch) -> None:
        _kw, reg_tok, value_tok, op = ch
        reg = self.reg_of(reg_tok.value, reg_tok, "creg")
        value = int(value_tok.value)
        if value >= (1 << reg.size):
            raise self.error(
                f"condition value {value} does not fit in {reg.describe()} (largest value {(1 << reg.size) - 1})",
                value_tok,
            )
        if op.data == "barrier":
            raise self.error(
                "a barrier cannot be conditioned; 'if' takes a gate call, measure or reset", op.children[0]
            )
        with self.circuit.if_test(reg.name, value):
            self.statement(op)

    # --- expressions --------------------------------------------------------------------------
    def expr(self, node, scope, gate_name):
        """A float (top level, ``scope is None``) or a parameter expression (gate bodies)."""
        if isinstance(node, str):
            t = node.type
            if t == "INT" or t == "REAL":
                v = float(node.value)
                if not math.isfinite(v):
                    raise self.error(f"number {node.value[:20]} is too large", node)
                return v
            if t == "PI":
                return math.pi
            # ID
            if scope is not None and node.value in scope:
                return scope[node.value]
            if scope is None:
                raise self.error(f"unknown parameter '{node.value}' (only gate bodies have parameters)", node)
            names = ", ".join(scope) or "none"
            raise self.error(
                f"unknown parameter '{node.value}' in gate '{gate_name}' (its parameters: {names})", node
            )
        kind = node.data
        ch = node.children
        if kind == "binop":
            a = self.expr(ch[0], scope, gate_name)
            b = self.expr(ch[2], scope, gate_name)
            return self.binop(ch[1], a, b)
        if kind == "unary":
            a = self.expr(ch[1], scope, gate_name)
            return -a if ch[0].type == "MINUS" else a
        # func
        a = self.expr(ch[1], scope, gate_name)
        return self.func(ch[0], a)

    def binop(self, op_tok, a, b):
        op = op_tok.value
        if type(a) is float and type(b) is float:
            try:
                if op == "+":
                    v = a + b
                elif op == "-":
                    v = a - b
                elif op == "*":
                    v = a * b
                elif op == "/":
                    v = a / b
                else:
                    v = a**b
            except ZeroDivisionError:
                msg = "division by zero" if op == "/" else f"0 cannot be raised to the negative power {b!r}"
                raise self.error(msg, op_tok) from None
            except OverflowError:
                raise self.error(f"{a!r} {op} {b!r} is too large", op_tok) from None
            if isinstance(v, complex):
                raise self.error(f"{a!r}^{b!r} is not a real number", op_tok)
            if not math.isfinite(v):
                raise self.error(f"{a!r} {op} {b!r} is too large", op_tok)
            return v
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return a / b
        return a**b

    def func(self, f_tok, a):
        name = f_tok.value
        if type(a) is float:
            fn = _pm._FUNCS[name]
            try:
                return fn(a)
            except ValueError:
                why = "a negative number" if name == "sqrt" else "a number <= 0"
                raise self.error(
                    f"cannot take {name} of {a!r} ({name} needs {'a number >= 0' if name == 'sqrt' else 'a number > 0'}, not {why})",
                    f_tok,
                ) from None
            except OverflowError:
                raise self.error(f"{name}({a!r}) is too large", f_tok) from None
        return getattr(_pm, name)(a)


def _first_token(node):
    if node is None:
        return None
    if isinstance(node, str):
        return node
    for t in _tokens_of(node):
        return t
    return None


def loads(text: str, *, filename: str | None = None, include_path: Sequence[str | Path] = ()) -> Circuit:
    """Read an OpenQASM 2 program into a ``Circuit``.

    Args:
        text: the program.
        filename: a name for error messages (default ``"<string>"``). Relative includes are
            looked up in ``include_path``, then in the current directory.
        include_path: folders searched for ``include`` files other than ``qelib1.inc``.

    Returns:
        The circuit: registers in declaration order, one instruction per broadcast element,
        user ``gate`` definitions as ``CompositeGate`` (standard gates as table gates).

    Raises:
        QasmError: the text is not valid OpenQASM 2 or uses what Kizuna cannot run (an opaque
            gate); ``str(error)`` reads ``file:line:col: message``.

    Cost: linear in the text, about 3 µs per byte (the 440 kB ``square_root_n45`` of
    QASMBench, 31 000 statements, reads in 1.3 s on one core of a small CI machine).

    Example:
        >>> from kizuna.computing import qasm2
        >>> c = qasm2.loads('OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; h q[0]; cx q[0],q[1];')
        >>> [ins.name for ins in c]
        ['h', 'cx']
        >>> qasm2.loads("qreg q[1];\\nfoo q[0];")
        Traceback (most recent call last):
        ...
        kizuna.errors.QasmError: <string>:2:1: unknown gate 'foo'
    """
    name = filename or "<string>"
    if not isinstance(text, str):
        raise TypeError(f"loads takes the program as str (got {type(text).__name__}); use load() for a path")
    return _read(text.lstrip("\ufeff"), name, None, include_path)



def _read_source(path: str | os.PathLike) -> str:
    """The UTF-8 text of an OpenQASM file (a byte-order mark dropped).

    Raises:
        QasmError: the bytes are not UTF-8 (names the file and line).
        OSError: the file cannot be read.
    """
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise QasmError(
            f"the file is not UTF-8 text ({exc.reason})", filename=os.fspath(path), line=line
        ) from None
    return text.lstrip("\ufeff")

def load(path: str | os.PathLike, *, include_path: Sequence[str | Path] = ()) -> Circuit:
    """Read an OpenQASM 2 file into a ``Circuit``.

    Args:
        path: the file (UTF-8). Errors name it as given.
        include_path: folders searched for ``include`` files after the file's own folder.

    Returns:
        The circuit, named after the file's stem.

    Raises:
        QasmError: the file is not valid OpenQASM 2 (``path:line:col: message``).
        OSError: the file cannot be read.

    Example:
        >>> import pathlib, tempfile
        >>> from kizuna.computing import qasm2
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.qasm"
        >>> _ = p.write_text('include "qelib1.inc"; qreg q[1]; x q[0];')
        >>> qasm2.load(p).count_ops()
        {'x': 1}
    """
    p = Path(path)
    circuit = _read(_read_source(path), os.fspath(path), p.parent, include_path)
    circuit.name = p.stem
    return circuit


def _read(text: str, filename: str, base_dir: Path | None, include_path) -> Circuit:
    reader = _Reader(filename, base_dir, include_path)
    try:
        reader.run(text)
    except QasmError:
        raise
    except RecursionError:
        raise reader.error(
            "the program is nested too deeply (an expression or gate)", reader.current
        ) from None
    except Warning:  # a warning turned into an error by the caller's filters
        raise
    except Exception as exc:  # a bug here must still say where in the file it struck
        raise reader.error(
            f"internal error while reading this statement ({type(exc).__name__}: {exc}); please report it",
            reader.current,
        ) from exc
    return reader.circuit


# --- writing --------------------------------------------------------------------------------

_LOWER_KEYWORDS = frozenset(k for k in _KEYWORDS if k[0].islower())
_FUNC_RE = re.compile(r"\b(asin|acos|atan)\(")


def _check_identifier(name: str, what: str) -> None:
    if not _IDENT.match(name) or name in _LOWER_KEYWORDS:
        raise CircuitError(
            f"cannot write {what} '{name}' in OpenQASM 2: names must start with a lowercase letter, "
            "hold only letters, digits and '_', and not be a keyword"
        )


def _fmt(x) -> str:
    x = float(x)
    if not math.isfinite(x):
        raise CircuitError(f"cannot write the non-finite parameter {x!r} in OpenQASM 2")
    return "pi" if x == math.pi else repr(x)


def _fmt_param(p, allowed: frozenset | None) -> str:
    if isinstance(p, ParameterExpression):
        free = p.parameters
        if allowed is None:
            names = ", ".join(sorted(q.name for q in free))
            raise CircuitError(
                f"cannot write unbound parameter(s) {names} in OpenQASM 2 outside a gate "
                "definition; bind them with circuit.assign_parameters({...}) first"
            )
        text = str(p)
        m = _FUNC_RE.search(text)
        if m:
            raise CircuitError(f"OpenQASM 2 has no function '{m.group(1)}' (in {text})")
        return text
    return _fmt(p)


def dumps(circuit: Circuit) -> str:
    """Write a circuit as an OpenQASM 2 program.

    The text starts with ``OPENQASM 2.0;`` and ``include "qelib1.inc";``, then definitions of
    every ``CompositeGate`` used (dependencies first, each once) and of the table gates that
    ``qelib1.inc`` lacks (``ryy``, ``rzx``), then the registers, then one line per instruction.
    Floats are written with ``repr`` (``pi`` for exactly ``math.pi``), so ``loads(dumps(c)) == c``.

    Args:
        circuit: the circuit to write.

    Returns:
        The program text, ending with a newline.

    Raises:
        CircuitError: OpenQASM 2 cannot express the circuit: a ``unitary`` instruction, a
            condition that does not read exactly one whole creg, free parameters outside gate
            definitions, names that are not OpenQASM 2 identifiers, or two different gates of
            one name.

    Example:
        >>> from kizuna import Circuit
        >>> from kizuna.computing import qasm2
        >>> print(qasm2.dumps(Circuit(2, 2).h(0).cx(0, 1).measure(1, 1)), end="")
        OPENQASM 2.0;
        include "qelib1.inc";
        qreg q[2];
        creg c[2];
        h q[0];
        cx q[0],q[1];
        measure q[1] -> c[1];
    """
    composites: dict[str, CompositeGate] = {}
    extra: set[str] = set()

    def visit_instruction(ins: Instruction) -> None:
        if ins.name == "unitary":
            raise CircuitError(
                "OpenQASM 2 cannot express a 'unitary' instruction (an explicit matrix); "
                "decompose it into gates first"
            )
        if ins.definition is not None:
            visit_gate(ins.definition)
        elif ins.name in GATES and ins.name not in _QELIB1_SET:
            if ins.name not in _EXTRA_DEFINITIONS:
                raise CircuitError(f"no OpenQASM 2 definition is known for gate '{ins.name}'")
            extra.add(ins.name)

    def visit_gate(g: CompositeGate) -> None:
        seen = composites.get(g.name)
        if seen is not None:
            if seen is not g and seen != g:
                raise CircuitError(
                    f"two different gates are called '{g.name}'; OpenQASM 2 needs one name per gate"
                )
            return
        for ins in g.body:
            visit_instruction(ins)
        if g.name in composites:  # a body used a different gate of the same name
            raise CircuitError(
                f"two different gates are called '{g.name}'; OpenQASM 2 needs one name per gate"
            )
        composites[g.name] = g

    for ins in circuit.instructions:
        visit_instruction(ins)

    reg_names = [r.name for r in circuit.qregs] + [r.name for r in circuit.cregs]
    taken = set(_QELIB1) | set(extra) | set(composites)
    for name in reg_names:
        _check_identifier(name, "register")
        if name in taken:
            raise CircuitError(
                f"cannot write register '{name}' in OpenQASM 2: a gate of that name is defined "
                "(gates and registers share one namespace); rename the register"
            )

    out = ["OPENQASM 2.0;", 'include "qelib1.inc";']
    out += [_EXTRA_DEFINITIONS[name] for name in sorted(extra)]
    for g in composites.values():
        out.append(_gate_definition(g))

    qname = []
    for r in circuit.qregs:
        out.append(f"qreg {r.name}[{r.size}];")
        qname += [f"{r.name}[{i}]" for i in range(r.size)]
    cname = []
    cregs = {}
    for r in circuit.cregs:
        out.append(f"creg {r.name}[{r.size}];")
        cname += [f"{r.name}[{i}]" for i in range(r.size)]
        cregs[tuple(r.indices)] = r.name

    for ins in circuit.instructions:
        prefix = ""
        if ins.condition is not None:
            cond = ins.condition
            reg = cregs.get(tuple(cond.clbits))
            if reg is None:
                raise CircuitError(
                    f"OpenQASM 2 can condition only on a whole creg; {ins.label()} is conditioned "
                    f"on clbits {list(cond.clbits)}, which are not one register"
                )
            prefix = f"if({reg}=={cond.value}) "
        qs = ",".join(qname[q] for q in ins.qubits)
        if ins.name == "measure":
            out.append(f"{prefix}measure {qs} -> {cname[ins.clbits[0]]};")
        elif ins.name in ("reset", "barrier"):
            out.append(f"{prefix}{ins.name} {qs};")
        else:
            ps = f"({','.join(_fmt_param(p, None) for p in ins.params)})" if ins.params else ""
            out.append(f"{prefix}{ins.name}{ps} {qs};")
    return "\n".join(out) + "\n"


def _gate_definition(g: CompositeGate) -> str:
    _check_identifier(g.name, "gate")
    if g.num_qubits < 1:
        raise CircuitError(f"cannot write gate '{g.name}' in OpenQASM 2: a gate needs at least one qubit")
    params = [p.name for p in g.params]
    for p in params:
        _check_identifier(p, f"parameter of gate '{g.name}',")
    qubits = []
    for i in range(g.num_qubits):
        q = f"q{i}"
        while q in params:
            q += "_"
        qubits.append(q)
    allowed = frozenset(g.params)
    body = []
    for ins in g.body:
        qs = ",".join(qubits[q] for q in ins.qubits)
        if ins.name == "barrier":
            body.append(f"barrier {qs};")
            continue
        ps = f"({','.join(_fmt_param(p, allowed) for p in ins.params)})" if ins.params else ""
        body.append(f"{ins.name}{ps} {qs};")
    head = f"gate {g.name}({','.join(params)})" if params else f"gate {g.name}"
    return f"{head} {','.join(qubits)} {{ {' '.join(body)} }}" if body else f"{head} {','.join(qubits)} {{ }}"


def dump(circuit: Circuit, path: str | os.PathLike) -> None:
    """Write a circuit to an OpenQASM 2 file, atomically.

    The text goes to a temporary file in the same folder, which then replaces ``path``
    (``os.replace``): a failure never leaves a half-written file.

    Args:
        circuit: the circuit to write.
        path: the file to create or replace.

    Raises:
        CircuitError: OpenQASM 2 cannot express the circuit (see ``dumps``); nothing is written.
        OSError: the folder is not writable.

    Example:
        >>> import pathlib, tempfile
        >>> from kizuna import Circuit
        >>> from kizuna.computing import qasm2
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "bell.qasm"
        >>> qasm2.dump(Circuit(2).h(0).cx(0, 1), p)
        >>> qasm2.load(p) == Circuit(2).h(0).cx(0, 1)
        True
    """
    atomic_write_text(path, dumps(circuit))
