"""ec2-compliance: every launched instance gets the required tags it lacks and the admin security group.

Real-AWS facts this module respects:
- Users and Auto Scaling tag right after launch: only what is missing at the time of the check is added,
  a value that is there is never overwritten, nothing is removed.
- At most 50 tags per resource (keys starting with ``aws:`` do not count): an instance that would exceed
  it gets ``failed:tag-limit``, the other instances of the event carry on.
- ``ModifyInstanceAttribute Groups`` *replaces* the set, so existing groups + the admin group are sent; an
  instance with several network interfaces is changed on its primary interface (network card 0, device
  index 0) with ``ModifyNetworkInterfaceAttribute`` (the instance call is refused for those with
  ``InvalidInstanceID``, also when an interface was attached after the read: the instance is then read
  again and its primary interface changed); an interface holds at most 5 groups by default.
- The admin group is per VPC (and region); a VPC without one is ``failed:no-admin-group`` and a
  notification.
- EC2 is eventually consistent: within ``fresh_instance_window_seconds`` of the event, an instance EC2 does
  not show (or a ``pending`` one it refuses to change) is retried later (``NotYetVisible``); after it, not
  found means gone. ``gone`` is otherwise only an instance DescribeInstances shows shutting down or
  terminated.
- A refused write is attributed to instances by its error code and a re-read of the instances it
  concerned, never by parsing the message; the record says per instance what was really done.

Minimum calls per event: one DescribeInstances; at most one CreateTags per distinct set of missing tags
(one for a RunInstances, whose instances share their tags); one DescribeSecurityGroups per VPC (cached);
one ModifyInstanceAttribute per instance that lacks the group. A refused write adds one DescribeInstances.
"""
