"""The person (or program) a request was made by, as keycard vouched for them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

_ALIASES = {"sub": "subject", "sid": "session_id"}


@dataclass(frozen=True)
class KeycardUser:
    """Who made the request, how they proved it and how keycard's answer was obtained.

    `via` is "jwt" when a JWT was verified offline (it cannot be revoked before it
    expires) and "session" when keycard was asked (revocation takes effect at once).
    `user["email"]`, `user["sub"]` and the other field names also work, so code written
    for a dict-shaped `current_user` keeps working.
    """

    subject: str
    email: str
    roles: tuple[str, ...]
    session_id: str
    amr: tuple[str, ...]
    aal: int
    auth_time: datetime | None
    via: Literal["jwt", "session"]

    def __getitem__(self, key: str) -> Any:
        name = _ALIASES.get(key, key)
        if name not in self.__dataclass_fields__:
            raise KeyError(key)
        return getattr(self, name)

    def get(self, key: str, default: Any = None) -> Any:
        """Like `dict.get`: the field named `key`, or `default` when there is none."""
        try:
            return self[key]
        except KeyError:
            return default
