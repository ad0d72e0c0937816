"""The world OrgGuard runs in on the embedded AWS: an organization, its accounts, the deployed hub, and the AWS
services moto does not play, acted out in this process.

How the pieces flow:

- ``identities`` reaches every account through ``sts:AssumeRole``; ``organization`` builds the management account,
  the Security OU (hub) and the Workloads OU (members); ``baseline`` sets up each workload account.
- ``hub_synthesis`` synthesizes the hub template (cached), ``hub`` deploys it with CloudFormation as ``cdk deploy``
  would, ``moto_gaps`` creates what moto's CloudFormation skips; ``template`` resolves the template's names and
  ``clients`` keeps one boto3 client per service.
- ``cloudtrail`` records watched sessions' calls and puts them on the member's default bus; the spoke's rules
  forward them to the hub bus; ``flow`` taps the hub rules' Lambda targets and pumps each event through
  ``lambda_runner``, which runs the real handler as the Lambda service would.
- ``mailbox`` receives the alerts topic's e-mail; ``reconcile_run`` plays the reconcile schedule and its queue,
  ``digest_run`` the storm digests' schedule.
"""
