"""The hosted page's forms (flask-wtf: CSRF on every one). Labels are SPEC §7's."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from app.errors import CardError
from app.payments.cards import card_problems, detect_brand, normalize_number

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

    # Set by validate_card_fields: the card failed its own checks (number, expiry), which the
    # card-testing limit counts (SPEC §7), unlike a missing field or a malformed CVC.
    failed_card_checks = False

    def validate_card_fields(self) -> bool:
        """Every field's problem at once, each on its field: presence and shape here, the
        card's own rules (Luhn, expiry, CVC length) from the card service."""
        for field, message in ((self.card_number, _l("Enter your card number.")),
                               (self.expiry, _l("Enter the expiry date as MM / YY.")),
                               (self.cvc, _l("Enter the security code from your card.")),
                               (self.name, _l("Enter the name on your card."))):
            if not (field.data or "").strip():
                field.errors = [*field.errors, message]
        month = year = None
        if (self.expiry.data or "").strip():
            try:
                month, year = parse_expiry(self.expiry.data)
            except ValueError:
                self.expiry.errors = [*self.expiry.errors, _l("Enter the expiry date as MM / YY.")]
        number = (self.card_number.data or "").strip() or None
        for problem in card_problems(number, month, year, (self.cvc.data or "").strip() or None):
            field = self.field_for(problem)
            field.errors = [*field.errors, card_message(problem, number)]
            self.failed_card_checks = self.failed_card_checks or field is not self.cvc
        return not any(f.errors for f in (self.card_number, self.expiry, self.cvc, self.name))

    def field_for(self, error: CardError) -> StringField:
        """The form field a card error belongs to (by its API parameter)."""
        fields: dict[str, StringField] = {"card[exp_month]": self.expiry, "card[exp_year]": self.expiry,
                                          "card[cvc]": self.cvc}
        return fields.get(error.param or "", self.card_number)

    def forget_card(self) -> None:
        """Never send a card number or CVC back to the browser."""
        self.card_number.data = ""
        self.cvc.data = ""
        self.card_number.raw_data = []
        self.cvc.raw_data = []


def card_message(error: CardError, number: str | None = None) -> str:
    """The customer's words for a card the card service or the processor refused, in their
    language (the service's English stays in the API's errors)."""
    if error.code == "invalid_cvc":
        amex = number is not None and detect_brand(normalize_number(number)) == "amex"
        return str(_("The security code must be %(digits)s digits.", digits=4 if amex else 3))
    messages = {
        "incorrect_number": _l("Your card number is incorrect."),
        "invalid_expiry_month": _l("The expiry month must be from 01 to 12."),
        "invalid_expiry_year": _l("The expiry year is not valid."),
        "expired_card": _l("Your card has expired."),
        "test_mode_live_card": _l("Use a test card in test mode, such as the Visa test card ending in 4242. "
                                  "Real cards are never accepted in test mode."),
    }
    return str(messages.get(error.code, error.message))


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
