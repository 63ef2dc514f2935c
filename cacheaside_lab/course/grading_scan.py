"""Static half of "checks cannot be faked": refuse a lab whose code rebinds or patches the checks.

Before ``cacheaside-lab check`` runs a lab, it reads every learner cell (every code cell but the
check cells) as Python (IPython syntax is translated first) and refuses the lab when a cell

* binds a check's name (assignment, ``def``, ``class``, ``del``, a loop or ``with`` target, or an
  import from anywhere but the course's own ``cacheaside_lab.course.checks.labNN`` module),
* assigns or deletes an attribute of something it imported (``lab01.check_read_path = …``,
  ``framework.pass_line = …``, ``sys.stdout = …``, ``ProductDB.get_product = …``),
* uses the tools that reach around those rules: ``exec``, ``eval``, ``compile``,
  ``__import__``, ``setattr``, ``delattr``, ``globals``, ``vars``, dunder names and attributes
  (``__builtins__``, ``f.__code__``), or imports ``builtins``, ``importlib``, ``ctypes``, ``gc``,
  ``inspect`` or ``unittest.mock``,
* runs IPython magics or shell escapes other than ``%time``, ``%timeit`` and ``%matplotlib``.

None of the course's solutions needs any of these (``tests/test_grading_tamper.py`` checks). What
this cannot see, code built at run time from strings by means not listed, the run-time check in
``checks/guard.py`` catches when it rebinds or patches a check; the instructor guide says what is
left.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

CHECK_MODULE_PREFIX = "cacheaside_lab.course.checks."
FORBIDDEN_CALLS = {"exec", "eval", "compile", "__import__", "setattr", "delattr", "globals", "vars", "get_ipython"}
FORBIDDEN_MODULES = {"builtins", "importlib", "ctypes", "gc", "inspect", "unittest.mock", "mock", "sys.modules"}
ALLOWED_DUNDERS = {"__name__", "__doc__", "__init__", "__repr__", "__str__", "__eq__", "__hash__", "__len__", "__iter__"}
ALLOWED_MAGICS = {"time", "timeit", "matplotlib"}


@dataclass(frozen=True)
class Finding:
    cell: int
    line: int
    what: str

    def __str__(self) -> str:
        return f"cell {self.cell}, line {self.line}: {self.what}"


def _python(source: str) -> ast.Module | None:
    """The cell as Python, IPython syntax translated; None when it is not valid Python at all."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        source = TransformerManager().transform_cell(source)
    except Exception:  # no IPython, or a cell it cannot translate: parse it as it is
        pass
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        return None  # it raises SyntaxError when run, so it defines nothing


def _root(node) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _bound_names(node) -> list[tuple[str, int]]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [(node.name, node.lineno)]
    if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
        return [(node.id, node.lineno)]
    if isinstance(node, ast.ExceptHandler) and node.name:
        return [(node.name, node.lineno)]
    if isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
        return [(node.name, node.lineno)]
    return []


def _magic(node) -> str | None:
    """'run' for ``get_ipython().run_line_magic('run', …)``, '!' for a shell escape."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    owner = node.func.value
    if not (isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "get_ipython"):
        return None
    if node.func.attr in ("run_line_magic", "run_cell_magic") and node.args and isinstance(node.args[0], ast.Constant):
        return str(node.args[0].value)
    return "!"


def scan_cell(source: str, index: int, check_names: set[str]) -> list[Finding]:
    """Everything in one learner cell that could redefine or patch a check."""
    tree = _python(source)
    if tree is None:
        return []
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported |= {alias.asname or alias.name for alias in node.names}
    findings = []
    magic_calls = set()
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        magic = _magic(node)
        if magic is not None:
            magic_calls.add(id(node.func.value))
            if magic not in ALLOWED_MAGICS:
                what = "a shell escape (!…)" if magic == "!" else f"the IPython magic %{magic}"
                findings.append(Finding(index, line, f"{what}: magics other than %time, %timeit and %matplotlib are not graded"))
            continue
        for name, at in _bound_names(node):
            if name in check_names:
                findings.append(Finding(index, at, f"redefines the check {name}"))
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            module = (node.module or "") if isinstance(node, ast.ImportFrom) else ""
            for alias in node.names:
                full = f"{module}.{alias.name}" if module else alias.name
                if any(full == bad or full.startswith(bad + ".") or module == bad for bad in FORBIDDEN_MODULES):
                    findings.append(Finding(index, line, f"imports {full}, which can rewrite the checks"))
                bound = alias.asname or alias.name
                genuine = module.startswith(CHECK_MODULE_PREFIX) and bound == alias.name
                if bound in check_names and not genuine:
                    findings.append(Finding(index, line, f"imports a {bound} that is not the course's check"))
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        for target in targets:
            for part in ast.walk(target):
                if isinstance(part, ast.Attribute) and _root(part) in imported:
                    findings.append(Finding(index, line, f"changes {ast.unparse(part)}, part of an imported module"))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN_CALLS:
            if id(node) not in magic_calls:
                findings.append(Finding(index, line, f"calls {node.func.id}(), which can rewrite the checks"))
        if isinstance(node, ast.Name) and node.id.startswith("__") and node.id.endswith("__") and node.id not in ALLOWED_DUNDERS:
            findings.append(Finding(index, line, f"uses {node.id}"))
        if isinstance(node, ast.Attribute) and node.attr.startswith("__") and node.attr.endswith("__") and node.attr not in ALLOWED_DUNDERS:
            findings.append(Finding(index, line, f"uses .{node.attr}"))
    return findings


def scan_notebook(notebook, check_names: set[str], check_tag: str = "check") -> list[Finding]:
    """Findings in every code cell that is not a check cell, in cell order."""
    findings = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and check_tag not in cell.get("metadata", {}).get("tags", []):
            findings += scan_cell(cell.source, index, check_names)
    return sorted(set(findings), key=lambda f: (f.cell, f.line, f.what))
