"""What the EC2 e-mails say about this guardrail's own outcomes (``handlers.outcome_text`` does the rest).

Keys are a failure's reason or an outcome kind; ``{noun}`` is the instances, e.g. "instance i-1"."""

from __future__ import annotations

REASONS = {
    "remediated": "OrgGuard added what {noun} lacked: the required tags and/or the admin security group.",
    "reported": "{noun} lacks required tags or the admin security group; OrgGuard changed nothing (report mode).",
    "no-admin-group": "Could not add the admin group to {noun}: its VPC has no admin security group.",
    "too-many-groups": "Could not add the admin group to {noun}: the interface already has the most security "
                       "groups allowed.",
    "tag-limit": "Could not add the required tags to {noun}: it would exceed AWS's limit of 50 tags.",
    "no-primary-interface": "Could not add the admin group to {noun}: none of its network interfaces is the "
                            "primary one.",
}

NEXT_STEPS = {
    "reported": "Add the missing tags and the admin group (above), or let OrgGuard do it: mode = \"enforce\" in "
                "[policies.ec2-compliance].",
    "no-admin-group": "Create the admin security group in that VPC (named or tagged as [policies.ec2-compliance] "
                      "admin_security_group says), or name its id under admin_security_group.ids.",
    "too-many-groups": "Remove a security group from the instance's primary interface, or raise the interface's "
                       "quota and max_groups_per_interface in [policies.ec2-compliance].",
    "tag-limit": "Remove tags the instance no longer needs, so the required tags fit.",
    "no-primary-interface": "Add the admin group to the instance's primary interface by hand.",
}
