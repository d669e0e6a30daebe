"""The Python SDK of the VINR invoicing API.

    from vinr import Vinr

    vinr = Vinr("sk_test_…", base_url="https://invoices.example.com")
    invoice = vinr.invoices.create(customer="cust_…", collection_method="send_invoice", days_until_due=30)

``AsyncVinr`` has the same surface with ``await``. ``vinr.webhooks.verify``
checks a webhook delivery. See docs/sdk.md.
"""

from vinr import webhooks
from vinr._async.client import AsyncVinr
from vinr._async.pagination import AsyncPage
from vinr._sync.client import Vinr
from vinr._sync.pagination import Page
from vinr._version import VERSION
from vinr.errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    CardError,
    IdempotencyError,
    InvalidRequestError,
    RateLimitError,
    SignatureVerificationError,
    VinrError,
)
from vinr.objects import (
    AccountSettings,
    BankStatementImport,
    BankTransaction,
    Branding,
    BusinessProfile,
    Coupon,
    CreditNote,
    Customer,
    Deleted,
    Event,
    Invoice,
    InvoiceItem,
    LineItem,
    ListObject,
    Payment,
    PaymentMethod,
    Price,
    Refund,
    TaxRate,
    TestClock,
    VinrObject,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookEndpoint,
    WebhookRecovery,
)

__version__ = VERSION

__all__ = [
    "APIConnectionError",
    "APIError",
    "AccountSettings",
    "AsyncPage",
    "AsyncVinr",
    "AuthenticationError",
    "Branding",
    "BusinessProfile",
    "CardError",
    "Coupon",
    "CreditNote",
    "Customer",
    "Deleted",
    "Event",
    "IdempotencyError",
    "InvalidRequestError",
    "Invoice",
    "InvoiceItem",
    "LineItem",
    "ListObject",
    "Page",
    "Payment",
    "PaymentMethod",
    "Price",
    "RateLimitError",
    "Refund",
    "BankStatementImport",
    "BankTransaction",
    "SignatureVerificationError",
    "TaxRate",
    "TestClock",
    "Vinr",
    "VinrError",
    "VinrObject",
    "WebhookDelivery",
    "WebhookDeliveryAttempt",
    "WebhookEndpoint",
    "WebhookRecovery",
    "webhooks",
]
