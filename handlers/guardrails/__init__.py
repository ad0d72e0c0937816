"""The guardrails: each a subpackage holding its contract implementation (``guardrail.py``), its settings
section (``settings.py``), its e-mail template and its replay seeder. ``base`` is the contract; the list
of guardrails in force is ``handlers.registry``. Nothing outside a guardrail's package knows its id."""
