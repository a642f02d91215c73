"""keycard's session tokens (and API keys), which only keycard can judge: Validate over REST."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import httpx

from .errors import KeycardUnavailable, NotAuthenticated, StepUpRequired
from .user import KeycardUser


def _timestamp(text: Any) -> datetime | None:
    """A proto JSON timestamp ("2026-01-01T00:00:00.123Z", always UTC) to the second."""
    if not text:
        return None
    return datetime.fromisoformat(str(text)[:19]).replace(tzinfo=timezone.utc)


def _user(answer: dict[str, Any]) -> KeycardUser:
    try:
        return KeycardUser(
            subject=str(answer["subject"]),
            email=str(answer.get("email", "")),
            roles=tuple(str(role) for role in answer.get("roles", [])),
            session_id=str(answer.get("session_id", "")),
            amr=tuple(str(method) for method in answer.get("amr", [])),
            aal=int(answer.get("aal", 0)),
            auth_time=_timestamp(answer.get("auth_time")),
            via="session",
        )
    except (KeyError, ValueError, TypeError) as error:
        raise KeycardUnavailable(f"keycard's answer was not understood ({error})") from None


async def _ask(http: httpx.AsyncClient, url: str, body: dict[str, Any]) -> dict[str, Any]:
    """keycard's Validate answer; KeycardUnavailable when there is no usable answer."""
    try:
        response = await http.post(url, json=body)
    except httpx.HTTPError as error:
        raise KeycardUnavailable(f"keycard could not be reached ({type(error).__name__})") from None
    if response.status_code == 400:
        raise NotAuthenticated("keycard refused to judge the token")
    if response.status_code != 200:
        raise KeycardUnavailable(f"keycard answered {response.status_code}")
    try:
        answer = response.json()
    except ValueError:
        raise KeycardUnavailable("keycard's answer was not JSON") from None
    if not isinstance(answer, dict):
        raise KeycardUnavailable("keycard's answer was not a JSON object")
    return answer


async def validate_session(
    http: httpx.AsyncClient, url: str, token: str, max_age: int | None, aal: int | None
) -> KeycardUser:
    """The user an active token belongs to, asking keycard's Validate at `url` to apply
    the step-up; NotAuthenticated or StepUpRequired when keycard says it is not active."""
    body: dict[str, Any] = {"token": token}
    if max_age:
        body["max_auth_age_seconds"] = max_age
    if aal:
        body["min_aal"] = aal
    answer = await _ask(http, url, body)
    if answer.get("active") is not True:
        if answer.get("reason") == "INACTIVE_REASON_STEP_UP_REQUIRED":
            raise StepUpRequired(max_age, aal)
        raise NotAuthenticated(f"keycard says the token is not active ({answer.get('reason')})")
    return _user(answer)
