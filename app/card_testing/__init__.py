"""The card-testing defence of the hosted page (SPEC §7, §8): failed tries with a card are
counted per client network and per invoice, and once a limit is full the next try is
refused before the processor is called. ``service`` is the rule and its one interface,
``stores`` the two places the count is kept (the database, or Redis with VINR_REDIS_URL)."""
