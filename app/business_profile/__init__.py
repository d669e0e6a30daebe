"""The business profile: who the merchant is in law, as its invoices print it (SPEC §10).
The row is the account's (``BusinessProfile``, app/accounts/models.py); its rules are
here, above customers and branding, whose address and contact fields it takes, and
below the invoices, which copy it at finalize."""
