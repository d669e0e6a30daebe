"""The hosted page's forms (flask-wtf: CSRF on every one). Labels are SPEC §7's."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

_EXPIRY = re.compile(r"^\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*$")


def parse_expiry(value: str) -> tuple[int, int]:
    """'04 / 27' -> (4, 27); raises ValueError for anything else."""
    match = _EXPIRY.match(value or "")
    if match is None:
        raise ValueError(value)
    return int(match[1]), int(match[2])


class CardFields(FlaskForm):
    card_number = StringField(_l("Card number"), render_kw={
        "autocomplete": "cc-number", "inputmode": "numeric", "spellcheck": "false"})
    expiry = StringField(_l("Expiry date"), render_kw={"autocomplete": "cc-exp"})
    cvc = StringField(_l("CVC"), render_kw={"autocomplete": "cc-csc", "inputmode": "numeric"})
    name = StringField(_l("Name on card"), validators=[Length(max=200)], render_kw={"autocomplete": "cc-name"})

    def validate_card_fields(self) -> bool:
        """Presence and shape only; Luhn, expiry and CVC rules are the card service's."""
        ok = True
        for field, message in ((self.card_number, _l("Enter your card number.")),
                               (self.expiry, _l("Enter the expiry date as MM / YY.")),
                               (self.cvc, _l("Enter the security code from your card.")),
                               (self.name, _l("Enter the name on your card."))):
            if not (field.data or "").strip():
                field.errors = [*field.errors, message]
                ok = False
        if ok:
            try:
                parse_expiry(self.expiry.data)
            except ValueError:
                self.expiry.errors = [*self.expiry.errors, _l("Enter the expiry date as MM / YY.")]
                ok = False
        return ok

    def forget_card(self) -> None:
        """Never send a card number or CVC back to the browser."""
        self.card_number.data = ""
        self.cvc.data = ""
        self.card_number.raw_data = []
        self.cvc.raw_data = []


class PayForm(CardFields):
    method = RadioField(_l("Payment method"), choices=[SelectChoice("new", _l("Pay with a new card"))],
                        default="new", validators=[InputRequired()])
    save_default = BooleanField(_l("Save as default payment method"))
    submit = SubmitField(_l("Pay"))

    def offer_saved(self, pm_id: str, label: str) -> None:
        self.method.choices = [SelectChoice(pm_id, label), SelectChoice("new", _l("Pay with a new card"))]
        if not self.is_submitted():
            self.method.data = pm_id

    def validate(self, extra_validators: Any = None) -> bool:
        if not super().validate(extra_validators):
            return False
        if self.method.data == "new":
            return self.validate_card_fields()
        return True


class UpdateCardForm(CardFields):
    submit = SubmitField(_l("Save"))

    def validate(self, extra_validators: Any = None) -> bool:
        return super().validate(extra_validators) and self.validate_card_fields()


class ChallengeForm(FlaskForm):
    complete = SubmitField(_l("Complete authentication"))
    fail = SubmitField(_l("Fail authentication"))
