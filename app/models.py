"""Every model, imported once so ``Base.metadata`` knows every table."""

from app.accounts.models import (
    Account,
    ApiKey,
    Branding,
    BusinessProfile,
    CollectionSettings,
    InvoiceCounter,
    TestClock,
)
from app.banking.models import BankTransaction
from app.card_testing.models import CardTry
from app.catalog.models import Coupon, Price, TaxRate
from app.credit_notes.models import CreditNote, CreditNoteLine
from app.customers.models import Customer, CustomerBalanceTransaction
from app.documents.models import InvoiceDocument
from app.emails.models import Email, EmailAttachment
from app.events.models import Event
from app.idempotency.models import IdempotencyKey
from app.invoices.models import Invoice, InvoiceItem, InvoiceLine
from app.jobs.models import Job
from app.payments.models import Payment, PaymentMethod, ProcessorCall, Refund
from app.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "Account", "ApiKey", "BankTransaction", "Branding", "BusinessProfile", "CardTry", "CollectionSettings",
    "Coupon", "CreditNote",
    "CreditNoteLine", "Customer", "CustomerBalanceTransaction",
    "Email", "EmailAttachment", "Event", "IdempotencyKey", "Invoice", "InvoiceCounter", "InvoiceDocument",
    "InvoiceItem", "InvoiceLine", "Job", "Payment", "PaymentMethod", "Price", "ProcessorCall", "Refund", "TaxRate",
    "TestClock",
    "WebhookAttempt", "WebhookDelivery", "WebhookEndpoint",
]
