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
