"""Extension instances, created here and bound in the factory."""

from __future__ import annotations

from flask_babel import Babel
from flask_sqlalchemy_lite import SQLAlchemy
from flask_wtf import CSRFProtect

# Objects stay readable after the boundary commits (e.g. to render the response).
db = SQLAlchemy(session_options={"expire_on_commit": False})
csrf = CSRFProtect()
babel = Babel()
