"""One module per guardrail: ``evaluate(event, ctx, resource_ids) -> Result`` and ``handler`` for Lambda."""
