"""The hub account's infrastructure: a CDK app built from the policy registry and the validated settings.

``hub.asset`` builds the Lambda asset, ``hub.stack`` holds the stack (composed of ``hub.core_resources``,
``hub.permissions``, ``hub.queues``, ``hub.functions``, ``hub.rules`` and ``hub.reconcile``, named by
``hub.names``), ``hub.nag`` runs cdk-nag and carries every acknowledged finding with its reason, ``hub.app``
synthesizes it (and is the CDK CLI's app).
Nothing here is imported by ``handlers``; importing ``hub`` itself does not load the CDK.
"""
