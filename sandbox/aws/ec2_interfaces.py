"""EC2 refuses instance-level interface changes on an instance with several network interfaces; moto does not.

Security groups (and the source/destination check) belong to network interfaces. ``ModifyInstanceAttribute`` with
``Groups`` (or ``SourceDestCheck``) changes the instance's only interface; on an instance with several, AWS answers
HTTP 400 with code ``InvalidInstanceID`` and "There are multiple interfaces attached to instance 'i-...'. Please
specify an interface ID for the operation instead." (as reported verbatim in NixOS/nixops#951 and
hashicorp/terraform-provider-aws#7107): the caller must use ``ModifyNetworkInterfaceAttribute`` on the interface,
the primary one (network card 0, device index 0) for the instance's own groups. moto instead gives the groups to
the instance and, through it, to every interface.

The interfaces are counted in moto's in-process state, in the account moto itself serves the caller from (the
account of the access key moto sees).
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.aws.gateway import Response
from sandbox.aws.iam.errors import error
from sandbox.aws.wire import AwsCall

MULTIPLE_INTERFACES = "InvalidInstanceID"


def multiple_interfaces_message(instance_id: str) -> str:
    return (f"There are multiple interfaces attached to instance '{instance_id}'. "
            "Please specify an interface ID for the operation instead.")


def moto_account(call: AwsCall) -> str:
    """The account moto answers the call in (it looks the access key up the same way)."""
    from moto.iam.models import get_account_id_from

    return str(get_account_id_from(call.forward_as or call.access_key))


def attached_interfaces(account: str, region: str, instance_id: str) -> int:
    """How many network interfaces moto has attached to the instance (0 when it does not know the instance)."""
    from moto.ec2.models import ec2_backends

    # The backends that exist (indexing would create one, loading moto's default AMIs; ``in`` on an account's
    # backends is true for every region name).
    if account not in ec2_backends or region not in set(ec2_backends[account]):
        return 0
    backend = ec2_backends[account][region]
    for reservation in list(backend.reservations.values()):
        for instance in reservation.instances:
            if instance.id == instance_id:
                return len(instance.nics)
    return 0


def changes_an_interface(call: AwsCall) -> bool:
    """ModifyInstanceAttribute with ``Groups`` (``GroupId.N``) or ``SourceDestCheck``: attributes of an interface."""
    return bool(call.listed("GroupId")) or any(key.startswith("SourceDestCheck") for key in call.params)


@dataclass
class Ec2Interfaces:
    name: str = "ec2-interfaces"

    def before(self, call: AwsCall) -> Response | None:
        if call.name != "ec2:ModifyInstanceAttribute" or not changes_an_interface(call):
            return None
        instance_id = str(call.params.get("InstanceId", ""))
        if attached_interfaces(moto_account(call), call.region, instance_id) <= 1:
            return None
        return error(call, 400, MULTIPLE_INTERFACES, multiple_interfaces_message(instance_id))

    def after(self, call: AwsCall, response: Response) -> Response:
        return response
