"""Credit notes (SPEC §11): the document that corrects an issued invoice, which is never edited."""
