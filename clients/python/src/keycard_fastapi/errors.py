"""The three ways a credential can fail, each with its own HTTP answer."""

from __future__ import annotations


class KeycardError(Exception):
    """Base of every failure this package raises, so callers can catch them all at once."""


class NotAuthenticated(KeycardError):
    """No credential, or one that is malformed, forged, expired, revoked or unknown (401)."""


class StepUpRequired(KeycardError):
    """The credential is good but its login is too old or too weak for this request (401).

    `max_age` and `aal` are what was asked, so the RFC 9470 challenge can repeat them.
    """

    def __init__(self, max_age: int | None, aal: int | None) -> None:
        super().__init__("A more recent or stronger authentication is required")
        self.max_age = max_age
        self.aal = aal


class KeycardUnavailable(KeycardError):
    """keycard could not be asked (network failure, timeout, 5xx): retry later (503)."""
