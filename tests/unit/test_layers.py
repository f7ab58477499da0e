"""The import rules of docs/explanation.md ("Layers"), checked by parsing the source.

Every ``import`` is read with :mod:`ast`, including those inside functions (a lazy import
still ties two modules together) but not those under ``if TYPE_CHECKING:``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {"canapy": ROOT / "canapy", "canapy.dashboards": ROOT / "dashboards"}
UI_LIBRARIES = ("panel", "bokeh", "holoviews", "hvplot")
# The commands that import the dashboard package, inside their run(): `canapy dash` (the
# Panel app) and `canapy analyze` (the Bokeh figures of its HTML report).
DASHBOARD_ENTRIES = ("canapy.cli.dash", "canapy.cli.analyze")

# Which module may import which: a module imports only from its own layer or below.
# A name matches a module and its sub-modules (``canapy.corpus`` covers the package).
LAYERS: tuple[tuple[str, ...], ...] = (
    (
        "canapy",
        "canapy.config",
        "canapy.config_file",
        "canapy.exceptions",
        "canapy.io_utils",
        "canapy.locking",
        "canapy.progress",
        "canapy.threads",
        "canapy.signing",
        "canapy.network",
        "canapy.interface",
        "canapy.jobs",
    ),
    (
        "canapy.audio",
        "canapy.segments",
        "canapy.spectral",
        "canapy.features",
        "canapy.activity",
        "canapy.pieces",
        "canapy.reservoir",
        "canapy.models",
        "canapy.persistence",
        "canapy.labels",
        "canapy.postprocess",
        "canapy.metrics",
        "canapy.confusion",
        "canapy.granularity",
        "canapy.model_choice",
        "canapy.context_model",
        "canapy.portable",
        "canapy.spectrum",
    ),
    (
        "canapy.corpus",
        "canapy.edits",
        "canapy.store",
        "canapy.store_files",
        "canapy.annotator",
        "canapy.synthetic",
        "canapy.synthetic_canary",
        "canapy.registry",
        "canapy.streaming",
    ),
    (
        "canapy.runs",
        "canapy.training",
        "canapy.workflow",
        "canapy.evaluation",
        "canapy.review",
        "canapy.review_scores",
        "canapy.accept",
        "canapy.caveats",
        "canapy.batch",
        "canapy.distributed",
        "canapy.analysis",
    ),
    ("canapy.model_ops", "canapy.service_support", "canapy.service"),
    ("canapy.cli", "canapy.__main__"),
    ("canapy.dashboards",),
)


@dataclass(frozen=True)
class Import:
    """One imported module (and the names taken from it) in one source file."""

    importer: str
    module: str
    names: tuple[str, ...]
    line: int
    top_level: bool

    def where(self) -> str:
        return f"{self.importer} (line {self.line})"


def _module_name(package: str, root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([package, *parts])


def _sources() -> dict[str, Path]:
    return {
        _module_name(package, root, path): path
        for package, root in PACKAGES.items()
        for path in sorted(root.rglob("*.py"))
    }


SOURCES = _sources()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _absolute(importer: str, is_package: bool, module: str | None, level: int) -> str:
    if not level:
        return module or ""
    base = importer.split(".")
    base = base[: len(base) - level + (1 if is_package else 0)]
    return ".".join(base + ([module] if module else []))


def _imports(name: str, path: Path) -> list[Import]:
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    found: list[Import] = []

    def visit(node: ast.AST, top_level: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.orelse:
                    visit(sub, top_level)
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    found.append(Import(name, alias.name, (), child.lineno, top_level))
            elif isinstance(child, ast.ImportFrom):
                module = _absolute(name, is_package, child.module, child.level)
                names = tuple(alias.name for alias in child.names)
                found.append(Import(name, module, names, child.lineno, top_level))
                for sub in names:  # `from canapy import workflow` imports a module
                    if f"{module}.{sub}" in SOURCES:
                        found.append(Import(name, f"{module}.{sub}", (), child.lineno, top_level))
            inner = top_level and not isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
            )
            visit(child, inner)

    visit(tree, True)
    return found


@pytest.fixture(scope="module")
def imports() -> list:
    """Every import statement of the package (parsed when a test asks, not at collection)."""
    return [imp for name, path in SOURCES.items() for imp in _imports(name, path)]


def _internal(module: str) -> str | None:
    """The source module ``module`` names (its package's ``__init__`` included), if ours."""
    while module and module not in SOURCES:
        module = module.rpartition(".")[0]
    return module or None


def _layer(module: str) -> int | None:
    """The layer of the longest name in LAYERS that covers ``module``."""
    matches = [
        (len(prefix), level)
        for level, names in enumerate(LAYERS)
        for prefix in names
        if module == prefix or module.startswith(prefix + ".")
    ]
    return max(matches)[1] if matches else None


def _core(module: str) -> bool:
    return module.startswith("canapy") and not module.startswith("canapy.dashboards")


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return out


def test_the_parser_sees_the_package(imports):
    assert {"canapy.workflow", "canapy.cli", "canapy.cli.common"} <= set(SOURCES)
    edges = {(i.importer, _internal(i.module)) for i in imports}
    assert ("canapy.cli.train", "canapy.cli.common") in edges
    assert ("canapy.cli.common", "canapy.workflow") in edges  # a lazy, function-level import


def test_cycle_finder_finds_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_inside_canapy(imports):
    graph: dict[str, set[str]] = {}
    for imp in imports:
        target = _internal(imp.module)
        if _core(imp.importer) and target and _core(target) and target != imp.importer:
            graph.setdefault(imp.importer, set()).add(target)
    assert _cycles(graph) == []


@pytest.mark.parametrize("library", UI_LIBRARIES)
def test_core_never_imports_the_ui(imports, library):
    bad = [
        i.where()
        for i in imports
        if _core(i.importer) and (i.module == library or i.module.startswith(library + "."))
    ]
    assert bad == [], f"canapy/ must not import {library}: {bad}"


def test_core_imports_the_dashboard_only_lazily_in_its_entry_commands(imports):
    bad = [
        i.where()
        for i in imports
        if _core(i.importer)
        and i.module.startswith("canapy.dashboards")
        and (i.importer not in DASHBOARD_ENTRIES or i.top_level)
    ]
    assert bad == [], f"only {DASHBOARD_ENTRIES}, inside a function, import the dashboard: {bad}"


def test_no_private_name_imported_across_modules(imports):
    bad = [
        f"{i.where()}: {name} from {i.module}"
        for i in imports
        if _internal(i.module)
        for name in i.names
        if name.startswith("_") and not name.startswith("__")
    ]
    assert bad == []


def test_layers_point_one_way(imports):
    bad = []
    for imp in imports:
        target = _internal(imp.module)
        lazy_dashboard = imp.importer in DASHBOARD_ENTRIES and not imp.top_level
        if target is None or (lazy_dashboard and target.startswith("canapy.dashboards")):
            continue
        low, high = _layer(target), _layer(imp.importer)
        if low is not None and high is not None and low > high:
            bad.append(f"{imp.where()} imports {target} from a higher layer")
    assert bad == []


def test_every_module_has_a_layer():
    missing = sorted(name for name in SOURCES if _layer(name) is None)
    assert missing == [], f"add {missing} to LAYERS here and to docs/explanation.md"


def test_every_canapy_import_names_a_module(imports):
    """A stale import left behind by a move or a rename (e.g. ``canapy.dash_support``)."""
    bad = [
        f"{i.where()}: {i.module}"
        for i in imports
        if (i.module == "canapy" or i.module.startswith("canapy.")) and i.module not in SOURCES
    ]
    assert bad == []
