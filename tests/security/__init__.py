"""Security: least privilege derived from the synthesized templates, and IAM policy linting (issue 7)."""
