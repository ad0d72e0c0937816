"""``orgguard replay``: real CloudTrail events, each judged by the real engine on a fresh embedded AWS.

How an event flows: ``input`` reads the file (records, envelopes, arrays, JSON lines, CloudTrail log files);
``run.Replayer`` takes each event: ``forwarding`` decides, as the spoke's rule would, whether it reaches the hub;
``org`` builds an organization holding the event's own account; ``roles`` creates the hub's and the member's roles
from OrgGuard's templates; ``seed`` leaves the member in the state the call left (``ec2``, ``s3``, reading
CloudTrail's renderings through ``shapes``); then the engine runs, enforcing.
"""
