"""Keycard: one configured connection to a keycard server, shared by every route."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from .dependency import user_dependency
from .errors import NotAuthenticated
from .jwks import JwksCache
from .jwt_token import JwtVerifier, jwt_header, require_step_up
from .session_token import validate_session
from .user import KeycardUser

#: Longer credentials are refused without asking keycard: none of keycard's come close.
MAX_TOKEN_LENGTH = 8192


def _step_up(max_age: int | None, aal: int | None) -> tuple[int | None, int | None]:
    """The step-up asked for, with 0 meaning "nothing asked" as in keycard's API."""
    if max_age is not None and max_age < 0:
        raise ValueError("max_age must be a number of seconds, 0 or more")
    if aal not in (None, 0, 1, 2):
        raise ValueError("aal must be 1 or 2")
    return max_age or None, aal or None


class Keycard:
    """Accepts keycard credentials: JWTs verified offline against keycard's JWKS at
    `{base_url}/.well-known/jwks.json` (HS256 too, only when `hs256_secret` is given), and
    any other token validated by keycard at `{base_url}/auth/validate`.

    Set `audience` to the name keycard puts in the JWTs meant for this service: without it
    a JWT issued for any service is accepted. Pass `http` to share an `httpx.AsyncClient`;
    otherwise one with a 5 s timeout is made, and `aclose()` closes it.
    """

    def __init__(
        self,
        base_url: str,
        *,
        issuer: str = "keycard",
        audience: str | None = None,
        hs256_secret: str | None = None,
        jwks_cache_seconds: float = 300,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        base = base_url.rstrip("/")
        self._owns_http = http is None
        self._http = http if http is not None else httpx.AsyncClient(timeout=5.0)
        self._validate_url = f"{base}/auth/validate"
        jwks = JwksCache(f"{base}/.well-known/jwks.json", self._http, jwks_cache_seconds)
        self._jwt = JwtVerifier(
            issuer=issuer, audience=audience, hs256_secret=hs256_secret, jwks=jwks
        )

    async def verify(
        self, token: str, max_age: int | None = None, aal: int | None = None
    ) -> KeycardUser:
        """The user `token` belongs to, if their login is at most `max_age` seconds old and
        at assurance level `aal` or above. Raises NotAuthenticated, StepUpRequired or
        KeycardUnavailable; never includes the token in a message."""
        max_age, aal = _step_up(max_age, aal)
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise NotAuthenticated("No usable token")
        header = jwt_header(token)
        if header is None:
            return await validate_session(self._http, self._validate_url, token, max_age, aal)
        user = await self._jwt.verify(token, header)
        require_step_up(user, max_age, aal)
        return user

    def current_user(
        self, *, max_age: int | None = None, aal: int | None = None
    ) -> Callable[..., Awaitable[KeycardUser]]:
        """A FastAPI dependency, `Depends(keycard.current_user(max_age=300, aal=2))`, that
        yields the KeycardUser of the request's `Authorization: Bearer` or
        `X-Session-Token` credential, or answers 401 (with a `WWW-Authenticate` challenge,
        RFC 9470's when a step-up is needed) or 503 when keycard cannot be reached."""
        return user_dependency(self.verify, *_step_up(max_age, aal))

    async def aclose(self) -> None:
        """Closes the HTTP client this Keycard made (not one passed in as `http`)."""
        if self._owns_http:
            await self._http.aclose()
