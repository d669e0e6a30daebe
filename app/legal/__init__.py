"""What makes an invoice a legal one (SPEC §10): tax and bank identifiers checked by their
check digits, and the unit codes of EN 16931."""
