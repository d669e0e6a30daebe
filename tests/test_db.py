"""app/db.py: statements run straight on the driver stay in the session's transaction."""

from __future__ import annotations

from typing import Any, cast

import pytest
import sqlalchemy as sa

from app.accounts.service import create_merchant
from app.db import run_on_driver
from app.events.models import Event

_INSERT = sa.insert(cast(sa.Table, Event.__table__))


def _event(account_id: str, event_id: str) -> dict[str, Any]:
    return {"id": event_id, "account_id": account_id, "livemode": False, "created": 1, "type": "customer.created",
            "data": '{"object": "customer"}'}


def test_a_driver_statement_commits_and_rolls_back_with_the_session(db_session: Any) -> None:
    account_id = create_merchant(db_session, "Driver Co", "DRV").account.id
    db_session.commit()  # the merchant stays (as far as this test's outer transaction goes)
    run_on_driver(db_session, _INSERT, _event(account_id, "evt_driver_rolled_back"))
    assert db_session.get(Event, "evt_driver_rolled_back").data == {"object": "customer"}
    db_session.rollback()
    assert db_session.get(Event, "evt_driver_rolled_back") is None


def test_a_driver_error_is_sqlalchemys_and_leaves_the_session_usable(db_session: Any) -> None:
    account_id = create_merchant(db_session, "Driver Co", "DRV").account.id
    run_on_driver(db_session, _INSERT, _event(account_id, "evt_driver_twice"))
    with pytest.raises(sa.exc.IntegrityError):  # what the error handlers turn into a 409
        run_on_driver(db_session, _INSERT, _event(account_id, "evt_driver_twice"))
    db_session.rollback()
    assert db_session.get(Event, "evt_driver_twice") is None
