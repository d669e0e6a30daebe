"""``flask --app wsgi import-statement FILE --account acct_… [--live]`` (SPEC §12)."""

from __future__ import annotations

import json
from pathlib import Path

from app import create_app
from app.accounts.service import create_merchant
from app.banking.models import BankTransaction
from app.extensions import db
from tests.banking.helpers import FILES, generated


def test_import_statement_records_once_and_refuses_a_malformed_file(tmp_path: Path) -> None:
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "SECRET_KEY": "s" * 32})
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    with app.app_context():
        account_id = create_merchant(db.session, "Acme GmbH", "ACME", "eur").account.id
        db.session.commit()
    statement = FILES / "camt053_v02.xml"
    first = runner.invoke(args=["import-statement", str(statement), "--account", account_id])
    assert first.exit_code == 0, first.output
    assert "camt.053.001.02: 3 credit entries, 3 new, 0 imported before; 0 matched, 3 unmatched" in first.output
    again = runner.invoke(args=["import-statement", str(statement), "--account", account_id, "--json"])
    assert json.loads(again.output)["duplicates"] == 3
    live = runner.invoke(args=["import-statement", str(statement), "--account", account_id, "--live", "--json"])
    assert json.loads(live.output)["created"] == 3

    broken = tmp_path / "broken.xml"
    broken.write_bytes(generated(3).replace(b"</Document>", b""))
    bad = runner.invoke(args=["import-statement", str(broken), "--account", account_id])
    assert bad.exit_code != 0 and "not well-formed XML" in bad.output
    unknown = runner.invoke(args=["import-statement", str(statement), "--account", "acct_nope"])
    assert unknown.exit_code != 0 and "no account" in unknown.output
    with app.app_context():
        rows = db.session.query(BankTransaction).all()
        assert sorted(r.livemode for r in rows) == [False] * 3 + [True] * 3
        db.engine.dispose()
