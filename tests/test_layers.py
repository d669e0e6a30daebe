"""The layers of app/ point one way (README "Layout"): a module imports from its own
package or from a lower layer, never from a higher one, and no two packages import
each other, however indirectly. Every import counts: at module level, inside a
function, and under ``TYPE_CHECKING``.

The map below is the architecture; a new package takes its place in it here.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"

# Lowest first. A module belongs to the layer of the longest prefix naming it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundations", ("app.config", "app.errors", "app.ids", "app.clock", "app.money", "app.db",
                     "app.extensions", "app.validation", "app.locales", "app.tokens", "app.processes",
                     "app.request_ids", "app.transactions", "app.legal")),
    ("queue primitives", ("app.jobs",)),
    ("card testing", ("app.card_testing",)),  # counts failed card tries: foundations only
    # The domains, each on the ones before it.
    ("accounts", ("app.accounts",)),
    ("tenancy", ("app.tenancy", "app.pagination")),  # scoped by the accounts' Caller
    ("idempotency", ("app.idempotency",)),
    ("events", ("app.events",)),
    ("webhooks", ("app.webhooks",)),  # subscribed to events by the app factory
    ("catalog", ("app.catalog",)),
    ("customers", ("app.customers",)),
    ("branding", ("app.branding",)),
    ("business profile", ("app.business_profile",)),
    ("invoices", ("app.invoices",)),
    ("einvoicing", ("app.einvoicing",)),
    ("payments", ("app.payments",)),
    ("credit notes", ("app.credit_notes",)),  # credit an invoice; refunds its card payment
    ("banking", ("app.banking",)),  # bank statements: applies their credits as payments
    ("documents", ("app.documents",)),
    ("emails", ("app.emails",)),
    ("automation", ("app.automation",)),
    ("registry of job kinds", ("app.worker",)),
    ("boundaries", ("app.api", "app.portal", "app.cli", "app.worker.runner", "app.models")),
    ("factory", ("app",)),
]

# Imports still upward, each with its way out. Customers check and detach a customer's saved
# cards, whose model is the payments'; it goes once the saved card (or those two rules) moves
# below customers. The test fails on an entry no longer imported, so the list cannot go
# stale: empty it as they go.
ALLOWED_UPWARD: frozenset[tuple[str, str]] = frozenset({
    ("app.customers.service", "app.payments.models"),
})


# Flask's context globals: what the app or the request in progress is. A module below the
# registry of job kinds is handed what it needs instead (the money flow, the secret key,
# the key's limits, the mail settings), by the boundary or by the registry.
CONTEXT_GLOBALS = frozenset({"current_app", "g", "request", "session"})
# Those still read, each with its reason and its way out. The test fails on an entry no
# longer read, so the list cannot go stale.
ALLOWED_CONTEXT: dict[tuple[str, str], str] = {
    ("app.request_ids", "g"): "it names the request in progress: its subject is the request (installed by "
                              "init_app like an extension)",
    ("app.documents.view", "g"): "the page's locale, chosen by build() and read by Flask-Babel's selector for "
                                 "the rest of the request; goes when the portal keeps it",
    ("app.documents.view", "request"): "the browser's Accept-Language, the last choice of the page's locale; "
                                       "goes with the entry above",
    ("app.invoices.serializers", "current_app"): "PUBLIC_URL for the hosted link in every invoice object and "
                                                 "event, written from about twenty domain functions and jobs; goes "
                                                 "when those are handed the app's public address",
    ("app.emails.service", "current_app"): "EMAIL_FROM's domain in the Message-ID fixed when an email is queued, "
                                           "from the consequences, the jobs and the event subscriber; goes with "
                                           "the entry above",
}


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int

    def __str__(self) -> str:
        return f"{self.importer} (line {self.line}) imports {self.imported}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(APP.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def app_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(APP.rglob("*.py"))}


def imports(modules: dict[str, Path]) -> list[Import]:
    """Every import of an app module by an app module, wherever it stands in the file."""
    found = []
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                # ``from app.x import y`` imports the module app.x.y when there is one.
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                           for alias in node.names]
            else:
                continue
            found += [Import(name, target, node.lineno) for target in dict.fromkeys(targets)
                      if target == "app" or target.startswith("app.")]
    return found


def layer_of(module: str) -> int:
    best, rank = -1, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), index
    assert rank >= 0, f"{module} is in no layer: give it one in tests/test_layers.py LAYERS"
    return rank


def package_of(module: str) -> str:
    """``app.invoices.drafts`` -> ``app.invoices``; a top-level module is its own package."""
    return ".".join(module.split(".")[:2])


def upward(found: list[Import]) -> list[Import]:
    return [imp for imp in found if layer_of(imp.imported) > layer_of(imp.importer)]


def package_cycles(found: list[Import]) -> list[list[str]]:
    """The sets of packages that import each other (strongly connected, Tarjan)."""
    return cycles_of([(package_of(imp.importer), package_of(imp.imported)) for imp in found])


def module_cycles(found: list[Import]) -> list[list[str]]:
    return cycles_of([(imp.importer, imp.imported) for imp in found])


def cycles_of(edges: list[tuple[str, str]]) -> list[list[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for importer, imported in edges:
        if importer != imported:
            graph[importer].add(imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_no_module_imports_from_a_higher_layer() -> None:
    found = imports(app_modules())
    offending = [imp for imp in upward(found) if (imp.importer, imp.imported) not in ALLOWED_UPWARD]
    names = [name for name, _ in LAYERS]
    assert not offending, "imports from a lower layer to a higher one:\n" + "\n".join(
        f"  {imp}: {names[layer_of(imp.importer)]} -> {names[layer_of(imp.imported)]}" for imp in offending)


def test_the_allowed_upward_imports_are_still_made() -> None:
    made = {(imp.importer, imp.imported) for imp in upward(imports(app_modules()))}
    gone = sorted(ALLOWED_UPWARD - made)
    assert not gone, f"no longer imported upward: remove them from ALLOWED_UPWARD: {gone}"


def test_no_two_packages_import_each_other() -> None:
    found = [imp for imp in imports(app_modules()) if (imp.importer, imp.imported) not in ALLOWED_UPWARD]
    cycles = package_cycles(found)
    details = []
    for cycle in cycles:
        members = set(cycle)
        details += [f"  {imp}" for imp in found if package_of(imp.importer) in members
                    and package_of(imp.imported) in members and package_of(imp.importer) != package_of(imp.imported)]
    assert not cycles, f"packages that import each other: {cycles}\n" + "\n".join(details)


def test_no_two_modules_import_each_other() -> None:
    """Within a package too (``accounts/clocks`` and ``accounts/service`` did). A blueprint
    package is the exception Flask's pattern makes: its ``__init__`` imports the views
    modules to register them, and they import its ``bp``."""
    blueprints = {"app.api", "app.portal"}
    found = [imp for imp in imports(app_modules()) if package_of(imp.importer) not in blueprints]
    cycles = module_cycles(found)
    assert not cycles, f"modules that import each other: {cycles}"


def test_the_two_blueprints_never_import_each_other() -> None:
    """STYLE "Shape": the API and the hosted page share services, not views."""
    crossing = [imp for imp in imports(app_modules())
                if {package_of(imp.importer), package_of(imp.imported)} == {"app.api", "app.portal"}]
    assert not crossing, "\n".join(map(str, crossing))


def context_globals(modules: dict[str, Path]) -> list[tuple[str, str, int]]:
    """(module, name, line) for each Flask context global a module imports or reads as ``flask.<name>``."""
    found = []
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module == "flask":
                found += [(name, alias.name, node.lineno) for alias in node.names if alias.name in CONTEXT_GLOBALS]
            elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "flask"
                  and node.attr in CONTEXT_GLOBALS):
                found.append((name, node.attr, node.lineno))
    return found


def below_the_registry(modules: dict[str, Path]) -> dict[str, Path]:
    """The foundations, the queue primitives and the domains."""
    registry = [name for name, _ in LAYERS].index("registry of job kinds")
    return {name: path for name, path in modules.items() if layer_of(name) < registry}


def test_no_module_below_the_registry_reaches_for_the_app_or_the_request() -> None:
    """A domain receives what it needs (README "Layout"), as app/payments receives its money flow."""
    found = context_globals(below_the_registry(app_modules()))
    offending = [f"  {module} (line {line}) reads flask.{name}" for module, name, line in found
                 if (module, name) not in ALLOWED_CONTEXT]
    assert not offending, "hand these in from the boundary or the registry instead:\n" + "\n".join(offending)


def test_the_allowed_context_globals_are_still_read() -> None:
    read = {(module, name) for module, name, _ in context_globals(below_the_registry(app_modules()))}
    gone = sorted(set(ALLOWED_CONTEXT) - read)
    assert not gone, f"no longer read: remove them from ALLOWED_CONTEXT: {gone}"


def test_the_context_check_sees_each_way_of_reading_them(tmp_path: Path) -> None:
    tokens, runs = tmp_path / "tokens.py", tmp_path / "runs.py"
    tokens.write_text("def key():\n    from flask import current_app, render_template\n    return current_app\n")
    runs.write_text("import flask\n\ndef body():\n    return flask.g.get('x'), flask.Flask\n")
    found = context_globals({"app.tokens": tokens, "app.automation.runs": runs, "app.worker.kinds": runs})
    assert found == [("app.tokens", "current_app", 2), ("app.automation.runs", "g", 4), ("app.worker.kinds", "g", 4)]
    assert set(below_the_registry({"app.tokens": tokens, "app.automation.runs": runs, "app.worker.kinds": runs,
                                   "app.api.routing": runs})) == {"app.tokens", "app.automation.runs"}


def test_the_checks_see_every_import_and_name_it(tmp_path: Path) -> None:
    """An import inside a function and one under TYPE_CHECKING count, relative ones too."""
    service, outbox = tmp_path / "service.py", tmp_path / "outbox.py"
    service.write_text("def record():\n    from app.webhooks.outbox import queue_deliveries\n")
    outbox.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..events import service\n")
    found = imports({"app.events.service": service, "app.webhooks.outbox": outbox})
    assert [str(imp) for imp in found] == ["app.events.service (line 2) imports app.webhooks.outbox",
                                           "app.webhooks.outbox (line 3) imports app.events.service"]
    assert upward(found) == [found[0]]
    assert package_cycles(found) == [["app.events", "app.webhooks"]]
