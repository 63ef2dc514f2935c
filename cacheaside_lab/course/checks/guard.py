"""Run-time half of "checks cannot be faked": is the check a cell calls really the package's?

``cacheaside-lab check`` runs a learner's lab in a kernel the learner's code also runs in, so a
lab could redefine ``check_read_path`` (or patch ``cacheaside_lab.course.checks.framework.pass_line``)
and print a pass line for nothing. The grader therefore prefixes every check cell it runs with a
call to :func:`verify`, passing fingerprints it computed in its *own* process, where no learner
code ran. :func:`verify` recomputes them in the kernel and raises :class:`TamperedCheck` when

* a name the cell calls is not the very function object the package's checks module holds,
* that module, or any other ``cacheaside_lab`` module the kernel has loaded, has a function,
  class method or UPPER_CASE constant that differs from the installed source,
* ``print`` is no longer the built-in.

A fingerprint hashes code (bytecode, constants, names), never object addresses, so it is the
same in every process running the same files. This stops redefinitions and monkeypatching; it
cannot stop code that rewrites the interpreter itself (see the instructor guide's grading notes),
which is why the grader also refuses such code before running it (``grading_scan.py``).
"""

from __future__ import annotations

import builtins
import hashlib
import sys
import types
from pathlib import Path

PACKAGE = "cacheaside_lab"
_PACKAGE_DIR = Path(__file__).resolve().parents[2]  # cacheaside_lab/course/checks/this.py -> cacheaside_lab/
_SCALARS = (str, int, float, bool, bytes, type(None))


class TamperedCheck(AssertionError):
    """A check, or the package it comes from, was redefined or patched in the kernel."""

    def _render_traceback_(self) -> list[str]:
        return [f"✘ not graded: {self}"]


def _code_digest(code: types.CodeType, hasher) -> None:
    hasher.update(code.co_code)
    hasher.update(repr((code.co_names, code.co_varnames, code.co_freevars, code.co_name)).encode())
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _code_digest(const, hasher)
        else:
            _value_digest(const, hasher)


def _value_digest(value, hasher) -> None:
    # sets of strings iterate in a per-process (hash-seeded) order: sort them
    if isinstance(value, (set, frozenset)):
        hasher.update(repr(sorted(map(repr, value))).encode())
    elif isinstance(value, tuple):
        for item in value:
            _value_digest(item, hasher)
    elif isinstance(value, _SCALARS):
        hasher.update(repr(value).encode())
    else:
        hasher.update(type(value).__qualname__.encode())


def _callable_digest(obj, hasher) -> None:
    seen = 0
    while obj is not None and seen < 5:  # wrappers: @exercise, functools.wraps, lru_cache
        seen += 1
        code = getattr(obj, "__code__", None)
        if isinstance(code, types.CodeType):
            _code_digest(code, hasher)
            for cell in getattr(obj, "__closure__", None) or ():
                try:
                    contents = cell.cell_contents
                except ValueError:  # an empty cell
                    continue
                if isinstance(contents, _SCALARS):
                    hasher.update(repr(contents).encode())
        hasher.update(repr(getattr(obj, "title", "")).encode())
        obj = getattr(obj, "__wrapped__", None)


def _member_digest(name: str, value, hasher) -> None:
    if isinstance(value, types.ModuleType):
        return  # submodules appear as attributes in the order they were imported: not code
    hasher.update(name.encode())
    if isinstance(value, type):
        hasher.update(f"{value.__module__}.{value.__qualname__}".encode())
        for attr in sorted(vars(value)):
            member = vars(value)[attr]
            member = getattr(member, "__func__", member)  # staticmethod, classmethod
            if isinstance(member, property):
                member = member.fget
            if callable(member) and hasattr(member, "__code__"):
                hasher.update(attr.encode())
                _callable_digest(member, hasher)
    elif callable(value):
        _callable_digest(value, hasher)
    elif name.isupper():
        _value_digest(value, hasher)
    else:
        hasher.update(type(value).__qualname__.encode())


def module_fingerprint(module: types.ModuleType) -> str:
    """A digest of a module's functions, classes' methods and UPPER_CASE constants."""
    hasher = hashlib.sha256(module.__name__.encode())
    namespace = vars(module)
    for name in sorted(namespace):
        if not name.startswith("__"):
            _member_digest(name, namespace[name], hasher)
    return hasher.hexdigest()[:32]


def package_fingerprints() -> dict[str, str]:
    """Fingerprint of every ``cacheaside_lab`` module loaded in this process."""
    return {
        name: module_fingerprint(module)
        for name, module in sorted(sys.modules.items())
        if isinstance(module, types.ModuleType) and (name == PACKAGE or name.startswith(PACKAGE + "."))
    }


def _inside_package(module: types.ModuleType) -> bool:
    path = getattr(module, "__file__", None)
    return bool(path) and Path(path).resolve().is_relative_to(_PACKAGE_DIR)


def verify(names: dict, checks: dict[str, str], fingerprints: dict[str, str]) -> None:
    """Raise TamperedCheck unless every check ``names`` binds is the package's, unpatched.

    ``names`` is the notebook's globals; ``checks`` maps each check name the cell calls to the
    module it belongs to; ``fingerprints`` are :func:`package_fingerprints` from the grader.
    """
    if not isinstance(builtins.print, types.BuiltinFunctionType):
        raise TamperedCheck("print was replaced, so the check's verdict could not be trusted.")
    for name, module_name in checks.items():
        module = sys.modules.get(module_name)
        if module is None or not _inside_package(module):
            raise TamperedCheck(f"{module_name} is not the course's module, so {name} cannot be trusted.")
        if names.get(name) is not getattr(module, name, None):
            raise TamperedCheck(
                f"{name} is not the course's check any more (it was redefined or imported from "
                f"elsewhere). Remove the code that replaces it and import it from {module_name}."
            )
    for module_name, expected in fingerprints.items():
        module = sys.modules.get(module_name)
        if module is None:
            continue  # never imported in this kernel, so nothing in it ran
        if not _inside_package(module) or module_fingerprint(module) != expected:
            raise TamperedCheck(
                f"{module_name} was changed in the kernel (a function or constant in it was "
                "reassigned), so no check can be trusted. Remove the code that patches it."
            )
