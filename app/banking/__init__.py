"""Bank statements (SPEC §12 "Statement import"): camt.053/camt.054 files read into bank
transactions, each credit entry recorded once and matched to the invoice it pays."""
