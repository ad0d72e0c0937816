"""OrgGuard's Lambda code: the policy registry, event parsing, the three guardrails, audit and notification.

This package is the Lambda asset: it imports only boto3, the standard library and (lazily) Jinja2.
"""
