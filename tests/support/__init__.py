"""What the test tiers share: the moto environment, the hub and member accounts on it, the organization and
the StackSet rollout on it, the CloudTrail samples, and settings files. Imported as ``tests.support.<module>``
(``pythonpath = ["."]`` in pyproject.toml), so it works from a fresh checkout and under xdist.

- ``moto_env``: the AWS environment set aside, one botocore model loader, moto started; constants and AssumeRole.
- ``hub``: the hub's audit table, alerts topic and a queue that captures every mail.
- ``members``: a member account as a test sees it, and the state the tests start from and read back.
- ``events``: real CloudTrail records pointed at a member account.
- ``handlers``: the handler tests' fixtures (``aws``, ``hub``, ``member``), the engine's runtime, botocore hooks.
- ``world``: the reliability tests' hub and members, every engine client wired through a fault injector.
- ``organization``: a multi-account organization with nested OUs, and sessions in its accounts.
- ``rollout``: the StackSet tests' fixtures (moto, the organization, Stubber), moto's missing StackSet behaviour,
  and the rollout's settings file.
- ``stackset_hub``: a hub for onboarding, status and redrive, and the spoke alarms moto's CloudFormation skips.
- ``onboarding``: the onboarding tests' run, an account's failed checks, the CreateStackInstances calls.
- ``guardrail_paths``: one resource checked by its event and by the sweep (the findings compared).
- ``sweep``: the sweep tests' S3 standard, their call-counting clients, launching instances, findings by resource.
- ``replay_cli``: ``orgguard replay`` run in-process without credentials, its JSON lines, the defaults it enforces.
- ``replayed``: one CloudTrail event replayed in the embedded AWS, its member account read back (replay fidelity).
- ``moto_targets``: ListStackSetAutoDeploymentTargets, which moto lacks.
- ``notify_cases``: the notification tests' results for every outcome of every policy, their events, rendering.
- ``hub_template``: reading the synthesized hub template (resources by type, references, joins, a role's statements).
- ``s3_encryption``: the s3-encryption handler tests' standard and the bucket records they replay.
- ``engine_events``: the engine tests' bucket and RunInstances records, and a RunInstances event for launched instances.
- ``ec2_compliance``: the ec2-compliance handler tests' RunInstances records, required tags, recorded EC2 writes.
- ``spoke_templates``: the spoke template tests' config shapes, hub account and operator roles, template readers.
- ``settings_files``: the one way tests write a settings file (TOML).
- ``samples``: where the CloudTrail samples are; skipped when absent, failed when absent under CI.
"""
