"""The one error type of the rollout code: a problem the user can fix, with what to do in the message."""

from __future__ import annotations


class RolloutError(Exception):
    """Raised with a message that names the problem and says what to do about it."""
