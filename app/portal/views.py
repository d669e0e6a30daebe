"""Hosted page views: load the invoice through its link, call a service, render."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from app.branding.themes import static_file
from app.credit_notes import service as credit_notes
from app.documents import service as documents
from app.documents.view import InvoiceView, build, template_context
from app.einvoicing import service as einvoicing
from app.errors import CardError, Conflict, DomainError
from app.extensions import db
from app.invoices import hosted
from app.invoices.models import Invoice, InvoiceStatus
from app.payments import checkout
from app.payments.cards import validate_card
from app.payments.flow import money_flow_of
from app.payments.processor import CardDetails
from app.portal import bp, card_testing
from app.portal.forms import CardFields, ChallengeForm, PayForm, UpdateCardForm, card_message, parse_expiry

# A card the card service refuses for its number or expiry failed the card's own checks, as a
# card tester's guess does; a malformed security code is a form error like a missing field.
_COUNTED_PARAMS = frozenset({"card[number]", "card[exp_month]", "card[exp_year]"})


@bp.after_request
def _end_unit_of_work(response: Response) -> Response:
    """The hosted page's transaction boundary: an answer that succeeded keeps what the
    request changed, any other rolls it back. (Payments and card saves commit their own
    steps, app/payments/flow.py.) Then the card try, if any, is finished: after the
    error handlers too, so a try that ended in an error page is finished as well."""
    if response.status_code < 400:
        db.session.commit()
    else:
        db.session.rollback()
    card_testing.finish_try()
    return response


def _load(invoice_id: str, token: str) -> tuple[Invoice, InvoiceView]:
    invoice = hosted.load(db.session, invoice_id, token, current_app.config["SECRET_KEY"])
    return invoice, build(db.session, invoice)


def _pay_form(view: InvoiceView) -> PayForm:
    form = PayForm()
    if view.saved_method is not None and view.saved_label is not None:
        form.offer_saved(view.saved_method.id, view.saved_label)
    return form


def _card(form: Any) -> CardDetails:
    """The typed card, validated (CardError names the field)."""
    month, year = parse_expiry(form.expiry.data)
    details = validate_card(form.card_number.data, month, year, form.cvc.data)
    return CardDetails(details.number, details.exp_month, details.exp_year, details.cvc,
                       name=(form.name.data or "").strip() or None)


def _card_error(form: CardFields, error: CardError) -> str:
    """A card the card service or the processor refused: the message, on its field too."""
    if error.param is None or error.param in _COUNTED_PARAMS:
        card_testing.count_failed_try()
    message = card_message(error, form.card_number.data)
    field = form.field_for(error)
    field.errors = [*field.errors, message]
    return message


def decline_message(result: checkout.CheckoutResult) -> str:
    """What the customer reads after a refusal, in their language (the
    processor's English text stays in the API's last_payment_error)."""
    reasons: dict[str, str] = {
        "insufficient_funds": _("Your card was declined: it has insufficient funds."),
        "expired_card": _("Your card was declined: it has expired."),
        "incorrect_cvc": _("Your card was declined: the security code is incorrect."),
        "authentication_failed": _("Your card was declined: authentication failed."),
        "authentication_required": _("Your card was declined: your bank asks you to confirm the payment."),
    }
    for code in (result.decline_code, result.failure_code):
        if code in reasons:
            return reasons[code]
    if result.failure_code == checkout.PAYMENT_OUTCOME_UNKNOWN:
        return str(_("We cannot take a payment for this invoice right now: an earlier payment has not been confirmed. "
                 "Nothing was charged. Please contact the merchant, whose details are on this page."))
    if result.outcome_unknown:
        return str(_("We did not get an answer about your payment just now. Please try again in a moment: "
                 "you will not be charged twice."))
    if result.failure_code in ("processing_error", "processor_unavailable", "processor_invalid_response",
                               "processor_invalid_request", "processor_authentication_failed",
                               "processor_rate_limited"):
        return str(_("We could not process your card just now. Nothing was charged: please try again in a moment."))
    return str(_("Your card was declined."))


# Post/Redirect/Get (SPEC §7): every POST of a card form answers with a redirect to a GET page,
# so reloading it submits nothing. What that page shows of the POST's outcome waits for it in
# the session: the message (flashed) and, under this key, the field errors with the fields
# that are no card data (the card number and CVC are never kept, nor sent back).
_FORM_STATE = "portal_card_form"
_KEPT_FIELDS = ("name", "method", "save_default")


def _back_to_form(form: Any, invoice: Invoice, token: str, alert: str, *, endpoint: str) -> BaseResponse:
    """Redirect to the page of ``form`` (``portal.invoice_page`` or ``portal.payment_method``),
    which shows ``alert`` and the form's field errors."""
    flash(alert, "alert")
    session[_FORM_STATE] = {
        "invoice": invoice.id, "endpoint": endpoint,
        "errors": {field.name: [str(message) for message in field.errors] for field in form if field.errors},
        "data": {name: getattr(form, name).data for name in _KEPT_FIELDS if hasattr(form, name)},
    }
    # On the invoice, straight to the form with its message (a phone shows the invoice first).
    anchor = "pay" if endpoint == "portal.invoice_page" else None
    return redirect(url_for(endpoint, invoice_id=invoice.id, token=token, _anchor=anchor), 303)


def _restore_form(form: Any, invoice: Invoice, endpoint: str) -> None:
    """The field errors and kept fields of the POST that redirected here, once."""
    state = session.get(_FORM_STATE)
    if not isinstance(state, dict) or state.get("invoice") != invoice.id or state.get("endpoint") != endpoint:
        return
    session.pop(_FORM_STATE)
    for name, value in state.get("data", {}).items():
        if hasattr(form, name) and (name != "method" or value in {choice.value for choice in form.method.choices}):
            getattr(form, name).data = value
    for name, messages in state.get("errors", {}).items():
        if hasattr(form, name):
            getattr(form, name).errors = list(messages)


def _flashed(category: str) -> str | None:
    # Messages come from our own flash (in the signed session), not from the URL, so
    # nobody can link a customer to a fake "Payment received".
    messages = get_flashed_messages(category_filter=[category])
    return str(messages[-1]) if messages else None


def _render_invoice(view: InvoiceView, form: PayForm, *, status: int = 200,
                    notice: str | None = None) -> tuple[str, int]:
    form.forget_card()
    html = render_template("portal/invoice.html", **template_context(
        view, form=form, alert=_flashed("alert"), notice=notice or _flashed("notice"),
        einvoice=einvoicing.offered(view.invoice, view.document) is not None))
    return html, status


@bp.get("/<invoice_id>/<token>")
def invoice_page(invoice_id: str, token: str) -> ResponseReturnValue:
    invoice, view = _load(invoice_id, token)
    if invoice.status is InvoiceStatus.VOID:
        return _void_page(view)
    form = _pay_form(view)
    _restore_form(form, invoice, "portal.invoice_page")
    return _render_invoice(view, form)


def _void_page(view: InvoiceView) -> tuple[str, int]:
    return render_template("portal/void.html", **template_context(view, sender=current_app.config["EMAIL_FROM"])), 410


@bp.post("/<invoice_id>/<token>/pay")
@card_testing.guarded
def pay(invoice_id: str, token: str) -> ResponseReturnValue:
    invoice, view = _load(invoice_id, token)
    form = _pay_form(view)
    if not invoice.is_payable:
        return _not_payable(invoice, view, form)
    if not form.validate_on_submit():
        if form.failed_card_checks:
            card_testing.count_failed_try()
        alert = (_("That saved card is no longer available: enter a card.") if form.method.errors
                 else _("Check the highlighted fields."))
        return _back_to_form(form, invoice, token, alert, endpoint="portal.invoice_page")

    def return_url(payment_id: str) -> str:
        return url_for("portal.authenticate", invoice_id=invoice_id, token=token, payment_id=payment_id,
                       _external=True)

    try:
        if form.method.data == "new":
            result = checkout.pay_with_card(db.session, money_flow_of(current_app), invoice, _card(form),
                                            save_as_default=form.save_default.data, return_url=return_url)
        else:
            result = checkout.pay_with_saved(db.session, money_flow_of(current_app), invoice, form.method.data,
                                             return_url=return_url)
    except CardError as error:
        return _back_to_form(form, invoice, token, _card_error(form, error), endpoint="portal.invoice_page")
    except Conflict as error:
        return _refused(invoice, token, error)
    return _after_payment(invoice, token, form, result)


def _not_payable(invoice: Invoice, view: InvoiceView, form: PayForm) -> ResponseReturnValue:
    if invoice.status is InvoiceStatus.PAID:
        # A double click or a resubmitted form: refused and nothing charged (SPEC §7: 409),
        # but answered with the receipt the customer is after rather than an error page.
        return _render_invoice(view, form, status=409,
                               notice=_("This invoice is already paid. Nothing more was charged."))
    abort(409 if invoice.status is not InvoiceStatus.VOID else 410)


def _refused(invoice: Invoice, token: str, error: Conflict) -> ResponseReturnValue:
    """Checkout refused before charging anything (it raises Conflict only then)."""
    if error.code == "invoice_unexpected_status" or not invoice.is_payable:
        # Paid (or voided) meanwhile, by this customer's other click or tab or by someone
        # else: the same answer as a click that came after.
        view = build(db.session, invoice)
        return _not_payable(invoice, view, _pay_form(view))
    if error.code == "payment_in_progress":
        # The other click of a double click holds the invoice.
        message = _("A payment for this invoice is already under way. Nothing more was charged: "
                    "reload this page in a moment to see its result.")
    elif error.code == "payment_not_pending":
        message = _("This authentication was already answered. Nothing more was charged.")
    else:
        raise error
    # Back to the invoice's own address, so that reloading shows the outcome instead of
    # resubmitting.
    flash(message, "notice")
    return redirect(url_for("portal.invoice_page", invoice_id=invoice.id, token=token), 303)


def _after_payment(invoice: Invoice, token: str, form: PayForm,
                   result: checkout.CheckoutResult) -> ResponseReturnValue:
    if result.outcome is checkout.Outcome.PAID:
        flash(_("Payment received. Thank you!"), "notice")
        return redirect(url_for("portal.invoice_page", invoice_id=invoice.id, token=token), 303)
    if result.outcome is checkout.Outcome.REQUIRES_ACTION:
        # Always our own page first: it shows the sandbox challenge, or a link to
        # the live processor's (a redirect there after a POST would break CSP's
        # form-action 'self'), and the button that finishes the payment.
        return redirect(url_for("portal.authenticate", invoice_id=invoice.id, token=token,
                                payment_id=result.payment_id), 303)
    card_testing.count_failed_try()
    return _back_to_form(form, invoice, token, decline_message(result), endpoint="portal.invoice_page")


@bp.get("/<invoice_id>/<token>/authenticate/<payment_id>")
def authenticate(invoice_id: str, token: str, payment_id: str) -> ResponseReturnValue:
    invoice, view = _load(invoice_id, token)
    try:
        payment = checkout.challenge_payment(db.session, invoice, payment_id)
    except Conflict as error:  # back to an answered challenge: its outcome is on the invoice
        return _refused(invoice, token, error)
    return render_template("portal/challenge.html", **template_context(
        view, form=ChallengeForm(), amount=payment.amount, action=request.path, purpose="payment",
        bank_url=payment.action_url if invoice.livemode else None))


@bp.post("/<invoice_id>/<token>/authenticate/<payment_id>")
@card_testing.guarded
def authenticate_answer(invoice_id: str, token: str, payment_id: str) -> ResponseReturnValue:
    invoice, view = _load(invoice_id, token)
    form = ChallengeForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        result = checkout.complete_authentication(db.session, money_flow_of(current_app), invoice, payment_id,
                                                  passed=bool(form.complete.data))
    except Conflict as error:  # a double click, or the other tab's answer came first
        return _refused(invoice, token, error)
    return _after_payment(invoice, token, _pay_form(view), result)


@bp.route("/<invoice_id>/<token>/payment-method", methods=["GET", "POST"])
@card_testing.guarded
def payment_method(invoice_id: str, token: str) -> ResponseReturnValue:
    invoice, view = _load(invoice_id, token)
    if not invoice.is_payable:
        abort(409 if invoice.status is not InvoiceStatus.VOID else 410)
    if view.customer.deleted:
        abort(404)  # no customer to keep a card for; the invoice itself stays payable
    form = UpdateCardForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            if form.failed_card_checks:
                card_testing.count_failed_try()
            return _back_to_form(form, invoice, token, _("Check the highlighted fields."),
                                 endpoint="portal.payment_method")
        return _update_card(invoice, token, form)
    _restore_form(form, invoice, "portal.payment_method")
    form.forget_card()
    return render_template("portal/payment_method.html",
                           **template_context(view, form=form, alert=_flashed("alert")))


def _update_card(invoice: Invoice, token: str, form: UpdateCardForm) -> BaseResponse:
    """Save the card as the default, then redirect: to the invoice (done), to 3DS, or back to the form."""
    def return_url(state: str) -> str:
        return url_for("portal.authenticate_setup", invoice_id=invoice.id, token=token, state=state, _external=True)

    try:
        result = checkout.update_default_card(db.session, money_flow_of(current_app), invoice, _card(form),
                                              return_url=return_url, secret_key=current_app.config["SECRET_KEY"])
    except CardError as error:
        return _back_to_form(form, invoice, token, _card_error(form, error), endpoint="portal.payment_method")
    if result.outcome is checkout.Outcome.SAVED:
        flash(_("Your payment method was updated."), "notice")
        return redirect(url_for("portal.invoice_page", invoice_id=invoice.id, token=token), 303)
    if result.outcome is checkout.Outcome.REQUIRES_ACTION:
        return redirect(url_for("portal.authenticate_setup", invoice_id=invoice.id, token=token,
                                state=result.setup_token), 303)
    card_testing.count_failed_try()
    return _back_to_form(form, invoice, token, decline_message(result), endpoint="portal.payment_method")


@bp.get("/<invoice_id>/<token>/payment-method/authenticate/<state>")
def authenticate_setup(invoice_id: str, token: str, state: str) -> ResponseReturnValue:
    invoice, view = _load(invoice_id, token)
    pm = checkout.setup_challenge(db.session, invoice, state, secret_key=current_app.config["SECRET_KEY"])
    return render_template("portal/challenge.html", **template_context(
        view, form=ChallengeForm(), amount=None, action=request.path, purpose="setup",
        bank_url=pm.setup_action_url if invoice.livemode else None))


@bp.post("/<invoice_id>/<token>/payment-method/authenticate/<state>")
@card_testing.guarded
def authenticate_setup_answer(invoice_id: str, token: str, state: str) -> ResponseReturnValue:
    invoice, view = _load(invoice_id, token)
    form = ChallengeForm()
    if not form.validate_on_submit():
        abort(400)
    result = checkout.complete_setup(db.session, money_flow_of(current_app), invoice, state,
                                     passed=bool(form.complete.data), secret_key=current_app.config["SECRET_KEY"])
    if result.outcome is checkout.Outcome.SAVED:
        flash(_("Your payment method was updated."), "notice")
        return redirect(url_for("portal.invoice_page", invoice_id=invoice.id, token=token), 303)
    card_testing.count_failed_try()
    return _back_to_form(UpdateCardForm(formdata=None), invoice, token, decline_message(result),
                         endpoint="portal.payment_method")


@bp.get("/<invoice_id>/<token>/pdf")
def invoice_pdf(invoice_id: str, token: str) -> ResponseReturnValue:
    invoice = hosted.load(db.session, invoice_id, token, current_app.config["SECRET_KEY"], lines=False)
    if invoice.status is InvoiceStatus.VOID:
        abort(410)  # like the page: a void invoice's document is no longer handed out
    content = documents.invoice_pdf(db.session, invoice)
    return send_file(_bytes_io(content), mimetype="application/pdf", as_attachment=True,
                     download_name=documents.filename(invoice))


@bp.get("/<invoice_id>/<token>/credit_notes/<credit_note_id>/pdf")
def credit_note_pdf(invoice_id: str, token: str, credit_note_id: str) -> ResponseReturnValue:
    """A credit note of the link's invoice, as a PDF (SPEC §11: ``pdf``, needing no key). Served
    for a void invoice too: the credit note is a document of its own."""
    invoice = hosted.load(db.session, invoice_id, token, current_app.config["SECRET_KEY"])
    note = credit_notes.on_invoice(db.session, invoice.id, credit_note_id)
    content = documents.credit_note_pdf(db.session, invoice, note)
    return send_file(_bytes_io(content), mimetype="application/pdf", as_attachment=True,
                     download_name=documents.credit_note_filename(note))


@bp.get("/<invoice_id>/<token>/einvoice")
def invoice_einvoice(invoice_id: str, token: str) -> ResponseReturnValue:
    """The e-invoice in the customer's format, when the page offers it (SPEC §10)."""
    invoice = hosted.load(db.session, invoice_id, token, current_app.config["SECRET_KEY"])
    if invoice.status is InvoiceStatus.VOID:
        abort(410)  # like the PDF
    rendered = einvoicing.for_customer(db.session, invoice)
    if rendered is None:
        abort(404)  # the page offers no e-invoice for this invoice
    return send_file(_bytes_io(rendered.content), mimetype="application/xml", as_attachment=True,
                     download_name=rendered.filename)


def _bytes_io(content: bytes) -> BytesIO:
    return BytesIO(content)


@bp.get("/_theme/<theme>/<path:filename>")
def theme_asset(theme: str, filename: str) -> ResponseReturnValue:
    path = static_file(theme, filename)
    if path is None:
        abort(404)
    return send_file(path, max_age=3600)


@bp.errorhandler(DomainError)
def _domain_error(error: DomainError) -> ResponseReturnValue:
    db.session.rollback()
    if error.status >= 500:
        # e.g. processor_not_configured: an operator's problem, not the customer's to read.
        return render_template("errors/500.html", message=None), 503
    status = error.status if error.status in (404, 409, 410, 429) else 400
    return render_template(f"errors/{status}.html", message=error.message if status != 404 else None), status
