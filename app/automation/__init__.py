"""What VINR does by itself over time (SPEC §5): finalizing ``auto_advance`` drafts,
trying failed automatic collections again (dunning), and reminding customers of
``send_invoice`` invoices. ``plans`` puts that work on the job queue in the
transaction of the change that calls for it; ``runs`` holds the job bodies. Times
follow the account's clock (a test clock in test mode)."""
