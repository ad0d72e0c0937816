"""The one error type of the rollout code: a problem the user can fix, with what to do in the message."""

from __future__ import annotations


class RolloutError(Exception):
    """Raised with a message that names the problem and says what to do about it."""


class OperationInProgress(RolloutError):
    """StackSets refused a call because another operation on the StackSet is running (OperationInProgressException).

    A distinct type because it is the one refusal that goes away by waiting: right after an account joins a target
    OU, the automatic deployment to it is such an operation, and ``orgguard onboard`` waits for it and retries.
    """
