"""The batch path: every existing resource, not one event. ``sweep`` runs one account-region through the
guardrails' own checks (``scope`` pages and resumes them), ``records`` turns what it found into audit items,
``summary`` renders the summary e-mail, and ``reconcile`` is the scheduled fan-out (a start function queues
one message per account and region; workers sweep them). ``orgguard sweep`` and ``report --sweep`` use the
same code from the CLI."""
