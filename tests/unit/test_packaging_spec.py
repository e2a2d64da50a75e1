"""packaging/cocoseg.spec's optional hidden imports, without building (the build takes minutes and GBs:
tests/e2e/test_build_app.py): the helper is taken from the spec's source and run, the Analysis is
checked to use it, and its package list is checked against pyproject's ``sam`` extra."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest
import tomllib

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "packaging" / "cocoseg.spec"


def spec_tree() -> ast.Module:
    return ast.parse(SPEC.read_text(encoding="utf-8"), filename=str(SPEC))


def spec_helper() -> dict[str, Any]:
    """OPTIONAL_PACKAGES and optional_hidden_imports, executed from the spec's own source (PyInstaller's
    names replaced by a stand-in: ``collect_submodules`` is only a default argument)."""
    wanted = [
        node
        for node in spec_tree().body
        if (isinstance(node, ast.FunctionDef) and node.name == "optional_hidden_imports")
        or (isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "OPTIONAL_PACKAGES")
    ]
    assert len(wanted) == 2
    namespace: dict[str, Any] = {"importlib": importlib, "collect_submodules": lambda name: [f"{name}.*"]}
    exec(compile(ast.Module(body=wanted, type_ignores=[]), str(SPEC), "exec"), namespace)
    return namespace


def test_only_the_installed_optional_packages_are_listed_with_their_submodules() -> None:
    helper = spec_helper()
    hidden = helper["optional_hidden_imports"]
    packages = ("segment_anything", "mobile_sam", "timm", "onnxruntime")

    def submodules(name: str) -> list[str]:
        return [name, f"{name}.sub"]

    assert hidden(packages, installed=lambda name: False, submodules=submodules) == []  # builds without
    only_two = hidden(packages, installed=lambda name: name in ("timm", "onnxruntime"), submodules=submodules)
    assert only_two == ["timm", "timm.sub", "onnxruntime", "onnxruntime.sub"]
    # the default asks the environment (find_spec): a package that is not there is never listed
    assert hidden(("no_such_package_for_the_spec",), submodules=submodules) == []
    assert hidden(("json",), submodules=submodules) == ["json", "json.sub"]


def test_the_analysis_takes_the_optional_hidden_imports() -> None:
    calls = [
        node
        for node in ast.walk(spec_tree())
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Analysis"
    ]
    assert len(calls) == 1
    hidden = next(k.value for k in calls[0].keywords if k.arg == "hiddenimports")
    assert "optional_hidden_imports(OPTIONAL_PACKAGES)" in ast.unparse(hidden)


def test_the_optional_packages_are_the_sam_extras_modules() -> None:
    """Every distribution of pyproject's ``sam`` extra is bundled by its import name (a new one added to
    the extra without the spec fails here)."""
    extra = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]["sam"]
    distributions = {re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0].lower() for requirement in extra}
    modules = {
        module
        for module, dists in importlib.metadata.packages_distributions().items()
        if {d.lower() for d in dists} & distributions and not module.startswith("_")
    }
    installed = {d for d in distributions if _installed(d)}
    if installed != distributions:
        pytest.skip(f"the sam extra is not fully installed (missing {sorted(distributions - installed)})")
    assert set(spec_helper()["OPTIONAL_PACKAGES"]) == modules
    assert all(importlib.util.find_spec(m) is not None for m in modules)


def _installed(distribution: str) -> bool:
    try:
        importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True
