"""The Lambda entry points: thin adapters from a Lambda invocation to the pipeline (``handlers.engine``), the
canary check, the reconcile and its workers."""
