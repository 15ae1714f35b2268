"""The package's shape: one job per module (at most 400 lines), short functions.

A function whose code (its docstring left out) runs over 60 lines must say why in a comment line
``# long: <reason>`` inside it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mesa_report"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
MODULES = sorted(PACKAGE.rglob("*.py"))


def _code_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]  # the docstring
    return body[-1].end_lineno - body[0].lineno + 1 if body else 0


def long_functions(source: str) -> list[tuple[str, int]]:
    """Functions of ``source`` with more than 60 lines of code and no ``# long:`` comment."""
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _code_lines(node) > MAX_FUNCTION_LINES:
            text = lines[node.lineno - 1:node.end_lineno]
            if not any(line.strip().startswith("# long:") for line in text):
                found.append((node.name, _code_lines(node)))
    return found


@pytest.mark.parametrize("path", MODULES, ids=[p.relative_to(PACKAGE).as_posix() for p in MODULES])
def test_each_module_is_short(path):
    n_lines = len(path.read_text(encoding="utf-8").splitlines())
    assert n_lines <= MAX_MODULE_LINES, f"{path.name} has {n_lines} lines; split it by job"


@pytest.mark.parametrize("path", MODULES, ids=[p.relative_to(PACKAGE).as_posix() for p in MODULES])
def test_each_function_is_short_or_says_why(path):
    assert long_functions(path.read_text(encoding="utf-8")) == []


def test_the_checks_can_fail():
    body = "\n".join(f"    x{i} = {i}" for i in range(61))
    assert long_functions(f"def f():\n    '''doc'''\n{body}\n") == [("f", 61)]
    assert long_functions(f"def f():\n    # long: a table of cases\n{body}\n") == []
    assert long_functions("def f():\n    '''a docstring\n" + "\n" * 70 + "'''\n    return 1\n") == []


TESTS = Path(__file__).resolve().parent
CROSS = TESTS / "cross"  # tests whose point is that several modules agree: no module of their own
CHECK_NO_ONE_MODULE = {  # test files that check something other than one module, and what
    "app/test_app.py": "the page (streamlit_app.py), through AppTest",
    "app/test_views.py": "the view model as the page shows it (pickers, outlines, links)",
    "data/test_fuzz.py": "every parser of the data layer, under Hypothesis",
    "demo/test_demo_store.py": "the demo cohort's folder (mesa_report/demo/__init__.py)",
}


def orphan_test_files(tests: Path, package: Path) -> list[str]:
    """Test files under ``tests/<folder>/`` whose name names no module of ``mesa_report/<folder>/``.

    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> for name in ("pkg/data/store.py", "tests/data/test_store.py", "tests/data/test_gone.py"):
    ...     (root / name).parent.mkdir(parents=True, exist_ok=True)
    ...     _ = (root / name).write_text("")
    >>> orphan_test_files(root / "tests", root / "pkg")
    ['data/test_gone.py']
    """
    orphans = []
    for test_file in sorted(tests.glob("*/test_*.py")):
        if test_file.parent.name == CROSS.name:
            continue
        module = package / test_file.parent.name / (test_file.name.removeprefix("test_"))
        if not module.is_file():
            orphans.append(test_file.relative_to(tests).as_posix())
    return orphans


def test_test_files_mirror_the_modules_they_check():
    """``tests/data/test_store.py`` checks ``mesa_report/data/store.py``: a renamed module renames its tests."""
    assert [name for name in orphan_test_files(TESTS, PACKAGE) if name not in CHECK_NO_ONE_MODULE] == []
