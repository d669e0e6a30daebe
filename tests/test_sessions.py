"""The cookie session keeps Flask's format and key handling (app/sessions.py)."""

from __future__ import annotations

from flask import Flask, session

from app.sessions import CachedSerializerSessionInterface


def make_app(interface: CachedSerializerSessionInterface, secret: str, fallbacks: tuple[str, ...] = ()) -> Flask:
    app = Flask("sessions")
    app.secret_key = secret
    app.config["SECRET_KEY_FALLBACKS"] = list(fallbacks)
    app.session_interface = interface

    @app.get("/set")
    def set_value() -> str:
        session["seen"] = "yes"
        return ""

    @app.get("/get")
    def get_value() -> str:
        return str(session.get("seen"))

    return app


def cookie_from(app: Flask) -> str:
    response = app.test_client().get("/set")
    return str(response.headers["Set-Cookie"].split(";", 1)[0].split("=", 1)[1])


def read_with(app: Flask, cookie: str) -> str:
    client = app.test_client()
    client.set_cookie("session", cookie)
    return str(client.get("/get").get_data(as_text=True))


def test_a_session_survives_a_key_rotation_through_the_fallbacks() -> None:
    interface = CachedSerializerSessionInterface()
    cookie = cookie_from(make_app(interface, "old-secret-0123456789"))
    assert read_with(make_app(interface, "new-secret-0123456789", ("old-secret-0123456789",)), cookie) == "yes"
    assert read_with(make_app(interface, "new-secret-0123456789"), cookie) == "None"


def test_a_changed_key_is_used_at_once() -> None:
    interface = CachedSerializerSessionInterface()
    app = make_app(interface, "first-secret-0123456789")
    cookie = cookie_from(app)
    assert read_with(app, cookie) == "yes"
    app.secret_key = "second-secret-0123456789"
    assert read_with(app, cookie) == "None"
