"""Only boundaries commit (STYLE "The transaction belongs to the boundary"): the request,
the CLI command, the worker job, and the named steps of the workflows that must run slow
work outside a transaction (app/transactions.py). Services flush. This reads the source
of app/ and fails when a commit turns up anywhere else."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

APP = ROOT / "app"

# Where a transaction may end, and why.
BOUNDARIES = {
    "app/transactions.py": "the named steps themselves",
    "app/api/routing.py": "the API request",
    "app/portal/views.py": "the hosted page's request",
    "app/cli.py": "the CLI command",
    "app/portal/card_testing.py": "the hosted page's request: a card try counts, for every process, from "
                                  "before the processor is called, and is finished after the request's work",
    "app/worker/runner.py": "the worker job",
    "app/payments/flow.py": "the money flow's named steps: processor calls outside any transaction",
    "app/documents/service.py": "a PDF's two named steps: rendered outside any transaction, then kept",
    "app/emails/delivery.py": "the email job's body: its reads end before the mail server talks",
    "app/webhooks/delivery.py": "the webhook job's body: its reads end before the receivers talk",
}
COMMITTING_HELPERS = frozenset({"commit_transaction", "step", "reading"})


def commits(source: str) -> list[str]:
    """Each place in ``source`` that ends a transaction: ``.commit()``, ``session.begin()``
    (committed at the end of its block), or a helper of app/transactions.py."""
    found = []
    helpers: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module == "app.transactions":
            helpers |= {alias.asname or alias.name for alias in node.names if alias.name in COMMITTING_HELPERS}
        elif isinstance(node, ast.ImportFrom) and node.module == "app" and any(
                alias.name == "transactions" for alias in node.names):
            helpers |= {f"transactions.{name}" for name in COMMITTING_HELPERS}
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        called = ast.unparse(node.func)
        method = node.func.attr if isinstance(node.func, ast.Attribute) else None
        receiver = ast.unparse(node.func.value) if isinstance(node.func, ast.Attribute) else ""
        if method == "commit" or (method == "begin" and receiver.endswith("session")) or called in helpers:
            found.append(f"line {node.lineno}: {called}()")
    return found


def _modules() -> dict[str, list[str]]:
    return {str(path.relative_to(ROOT)): commits(path.read_text()) for path in sorted(APP.rglob("*.py"))}


def test_only_boundaries_commit() -> None:
    elsewhere = {module: found for module, found in _modules().items() if found and module not in BOUNDARIES}
    assert not elsewhere, ("These modules end a transaction, which only a boundary or a named step may do "
                           f"(app/transactions.py): {elsewhere}")


def test_every_boundary_listed_still_commits() -> None:
    """The list stays true: a module that no longer commits leaves it."""
    modules = _modules()
    assert [module for module in BOUNDARIES if not modules.get(module)] == []


def test_the_reader_finds_each_kind_of_commit() -> None:
    assert commits("def f(session):\n    session.commit()\n")
    assert commits("from app.extensions import db\ndb.session.commit()\n")
    assert commits("def f(session):\n    with session.begin():\n        pass\n")
    assert commits("from app.transactions import commit_transaction\ncommit_transaction(s)\n")
    assert commits("from app.transactions import step\nwith step(s):\n    pass\n")
    assert commits("from app.transactions import reading as r\nwith r(s):\n    pass\n")
    assert commits("from app import transactions\nwith transactions.step(s):\n    pass\n")
    # A savepoint, a flush and another module's ``step`` end no transaction.
    assert not commits("def f(session):\n    session.flush()\n    with session.begin_nested():\n        pass\n")
    assert not commits("def step(x):\n    pass\nstep(1)\n")


def test_the_money_flow_imports_nothing_above_it() -> None:
    """app/payments is handed its processors and the consequences of its outcomes (the app
    factory builds them), so it imports no job, email or automation code, no view, and no
    ``current_app``."""
    above = ("app.automation", "app.emails", "app.jobs", "app.api", "app.portal", "app.webhooks")
    found = []
    for path in sorted((APP / "payments").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module is not None:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            if any(name.startswith(above) or name == "flask.current_app" for name in names):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []


def test_the_commit_reader_reads_the_real_tree() -> None:
    assert Path(APP / "payments" / "flow.py").exists() and _modules()["app/payments/flow.py"]
