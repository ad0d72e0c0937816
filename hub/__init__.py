"""The hub account's infrastructure: a CDK app built from the policy registry and the validated settings.

``hub.asset`` builds the Lambda asset, ``hub.stack`` holds the stack, ``hub.nag`` runs cdk-nag and
carries every acknowledged finding with its reason, ``hub.app`` synthesizes it (and is the CDK CLI's app).
Nothing here is imported by ``handlers``; importing ``hub`` itself does not load the CDK.
"""
