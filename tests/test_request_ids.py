from __future__ import annotations

import logging
from typing import Any

from flask import Flask, g


def test_an_unexpected_error_on_a_hosted_page_is_logged_and_shown_with_its_request_id(
        app: Flask, caplog: Any) -> None:
    with app.test_request_context("/i/inv_x/token"):
        app.preprocess_request()
        request_id = g.request_id
        with caplog.at_level(logging.ERROR, logger="app"):
            response = app.make_response(app.handle_user_exception(RuntimeError("boom")))
    assert response.status_code == 500 and request_id.startswith("req_")
    assert f"(request {request_id})" in caplog.text
    assert request_id in response.get_data(as_text=True)
