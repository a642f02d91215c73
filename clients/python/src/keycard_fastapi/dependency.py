"""The FastAPI dependency: finds the credential in the request, answers refusals in HTTP."""

# No `from __future__ import annotations`: FastAPI reads the dependency's parameter types.
import logging
from collections.abc import Awaitable, Callable

from fastapi import Depends, HTTPException
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from .errors import KeycardUnavailable, NotAuthenticated, StepUpRequired
from .user import KeycardUser

Verify = Callable[[str, int | None, int | None], Awaitable[KeycardUser]]
"""Checks a token with a step-up, as `Keycard.verify` does."""

_log = logging.getLogger("keycard_fastapi")
_bearer = HTTPBearer(auto_error=False, description="A keycard JWT or session token.")
_session_header = APIKeyHeader(
    name="X-Session-Token", auto_error=False, description="A keycard session token."
)


def step_up_challenge(refusal: StepUpRequired) -> str:
    """The RFC 9470 challenge: authenticate again, within `max_age`, at `acr_values`."""
    parts = [
        'Bearer error="insufficient_user_authentication"',
        f'error_description="{refusal}"',
    ]
    if refusal.max_age is not None:
        parts.append(f'max_age="{refusal.max_age}"')
    if refusal.aal is not None:
        parts.append(f'acr_values="aal{refusal.aal}"')
    return ", ".join(parts)


def _refused(status: int, detail: str, challenge: str) -> HTTPException:
    return HTTPException(status, detail, headers={"WWW-Authenticate": challenge})


def user_dependency(
    verify: Verify, max_age: int | None, aal: int | None
) -> Callable[..., Awaitable[KeycardUser]]:
    """A dependency yielding the request's KeycardUser, or answering 401 (no, bad or
    too-weak credential, with the matching challenge) or 503 (keycard unreachable)."""

    async def current_user(
        bearer: HTTPAuthorizationCredentials | None = Depends(_bearer),
        session_token: str | None = Depends(_session_header),
    ) -> KeycardUser:
        token = bearer.credentials if bearer is not None else session_token
        if not token:
            raise _refused(401, "Not authenticated", "Bearer")
        try:
            return await verify(token, max_age, aal)
        except StepUpRequired as refusal:
            raise _refused(401, str(refusal), step_up_challenge(refusal)) from None
        except NotAuthenticated:
            raise _refused(401, "Invalid or expired token", 'Bearer error="invalid_token"') from None
        except KeycardUnavailable as failure:
            _log.warning("keycard is unavailable: %s", failure)
            raise HTTPException(503, "Authentication is unavailable; try again later") from None

    return current_user
