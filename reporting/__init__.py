"""The compliance report of ``orgguard report`` and of the demo: pure parts, no boto3.

``model`` turns audit items (and a live sweep's results) into a typed ``Report``; ``page`` renders it as one
self-contained HTML file (inline CSS and SVG, no script, nothing fetched); ``text`` renders it for a terminal;
``source`` reads the audit table through a DynamoDB client it is given. ``commands/report.py`` is the CLI
adapter; ``sandbox/demo`` writes the demo's report with the same code.
"""
