"""The public surface: ``__all__``, import cost, doctests.

Models: attrs/httpx check ``__all__`` against the names a package defines; Stim and Cirq keep
``import`` light and lazy (numba, matplotlib, the CLI libraries and the Qiskit peer load only
when used); every docstring example is a doctest.
"""

from __future__ import annotations

import ast
import doctest
import importlib
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import kizuna

SRC = Path(kizuna.__file__).resolve().parent.parent
INIT = Path(kizuna.__file__).resolve()

HEAVY = frozenset({"numba", "matplotlib", "typer", "rich", "qiskit", "stim", "pymatching", "networkx", "yaml",
                   "cirq", "openqasm3", "fastapi", "sqlalchemy", "alembic", "uvicorn", "httpx", "dask",
                   "distributed", "psycopg"})


def _defined_public_names() -> set[str]:
    """Names bound at module level in kizuna/__init__.py (imports and assignments), public ones
    plus ``__version__``."""
    tree = ast.parse(INIT.read_text())
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
    return {n for n in names if not n.startswith("_") or n == "__version__"} - {"__all__"}


def test_all_equals_the_public_names_defined_in_init():
    assert sorted(kizuna.__all__) == sorted(set(kizuna.__all__)), "__all__ has duplicates"
    assert set(kizuna.__all__) == _defined_public_names()


def test_every_name_in_all_resolves():
    for name in kizuna.__all__:
        assert getattr(kizuna, name) is not None, name


def test_errors_all_lists_every_error_class():
    from kizuna import errors

    classes = {n for n, v in vars(errors).items()
               if isinstance(v, type) and issubclass(v, Exception) and v.__module__ == errors.__name__}
    assert set(errors.__all__) == classes


def _imported_modules(code: str) -> set[str]:
    env = dict(os.environ, PYTHONPATH=str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True,
                          text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    mods = set()
    for line in proc.stderr.splitlines():
        # "import time: self [us] | cumulative | imported package"
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name and name != "imported package":
                mods.add(name)
    return mods


def test_import_kizuna_stays_light():
    mods = _imported_modules("import kizuna")
    assert "kizuna" in mods  # the parse works
    heavy = sorted(m for m in mods if m.split(".")[0] in HEAVY)
    assert not heavy, f"`import kizuna` imports {heavy}"


def test_running_a_circuit_stays_light_too():
    mods = _imported_modules(
        "import kizuna; c = kizuna.Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1]); "
        "kizuna.run(c, shots=10, seed=1); kizuna.statevector(kizuna.Circuit(1).h(0))"
    )
    # numba is the engine's kernel compiler: it loads on the first simulation (and reads its
    # configuration with yaml when yaml is installed); nothing else does
    heavy = sorted(m for m in mods if m.split(".")[0] in HEAVY - {"numba", "llvmlite", "yaml"})
    assert not heavy, f"running a circuit imports {heavy}"


def _kizuna_modules() -> list[str]:
    names = ["kizuna"]
    for info in pkgutil.walk_packages(kizuna.__path__, "kizuna."):
        if info.name.startswith("kizuna.cli"):  # the CLI needs its own setup; tested in tests/cli
            continue
        names.append(info.name)
    return sorted(names)


MODULES = _kizuna_modules()


@pytest.mark.parametrize("module_name", MODULES)
def test_module_doctests_pass(module_name):
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             verbose=False, report=True)
    assert result.failed == 0, f"{result.failed} of {result.attempted} doctest(s) failed in {module_name}"


def test_doctests_exist_for_the_core_entry_points():
    attempted = {}
    for name in ("kizuna", "kizuna.computing.execute", "kizuna.computing.circuit",
                 "kizuna.core.gates", "kizuna.core.bits", "kizuna.computing.result"):
        finder = doctest.DocTestFinder()
        attempted[name] = sum(len(t.examples) for t in finder.find(importlib.import_module(name)))
    assert all(v > 0 for v in attempted.values()), attempted
