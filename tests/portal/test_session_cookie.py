"""The hosted page's session cookie (it holds the CSRF token): SameSite=Lax and
HttpOnly always, Secure exactly when the hosted links are https."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from app import create_app
from app.accounts.service import create_merchant
from app.cli import upgrade
from app.extensions import db


@pytest.mark.parametrize(("public_url", "secure"), [("https://pay.example.test", True),
                                                    ("http://127.0.0.1:5091", False)])
def test_the_session_cookie_is_same_site_lax_and_secure_over_https(tmp_path: Path, public_url: str,
                                                                   secure: bool) -> None:
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'cookie.db'}", "SECRET_KEY": "s" * 32,
                      "PUBLIC_URL": public_url}, instance_path=str(tmp_path / "instance"))
    with app.app_context():
        upgrade()
        key = create_merchant(db.session, "Cookie Ltd", "COOKIE").test_secret_key
        db.session.commit()
    client = app.test_client()
    headers = {"X-Api-Key": key}
    customer = client.post("/v1/customers", json={"email": "c@example.com"}, headers=headers).get_json()
    inv = client.post("/v1/invoices", json={"customer": customer["id"], "collection_method": "send_invoice",
                                            "days_until_due": 7}, headers=headers).get_json()
    client.post(f"/v1/invoices/{inv['id']}/lines", json={"unit_amount": 500}, headers=headers)
    inv = client.post(f"/v1/invoices/{inv['id']}/finalize", headers=headers).get_json()
    page = client.get(urlsplit(inv["hosted_invoice_url"]).path)
    assert page.status_code == 200
    cookie = [part.strip() for part in page.headers["Set-Cookie"].split(";")]
    assert "SameSite=Lax" in cookie and "HttpOnly" in cookie
    assert ("Secure" in cookie) is secure
    with app.app_context():
        db.engine.dispose()
