"""The AWS stand-in: moto in server mode behind a gateway whose named parts make it behave as AWS does.

``server.embedded_aws`` starts it and points boto3 at it; every request passes ``gateway.py``, whose parts
(``strictness.py`` says which are on) fix what moto answers differently from AWS; ``iam/`` evaluates IAM as AWS does.
"""
