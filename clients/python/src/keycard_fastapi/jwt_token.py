"""keycard's JWTs, verified offline: signature, issuer, audience, lifetime and step-up."""

from __future__ import annotations

import binascii
import json
import re
import time
from datetime import datetime, timezone
from typing import Any

import jwt
from jwt.utils import base64url_decode

from .errors import NotAuthenticated, StepUpRequired
from .jwks import JwksCache
from .user import KeycardUser

#: Seconds of clock difference between keycard and this service that `exp`, `nbf` and
#: `iat` tolerate.
LEEWAY_SECONDS = 5

_SEGMENTS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_AAL_OF_ACR: dict[object, int] = {"aal1": 1, "aal2": 2}


def jwt_header(token: str) -> dict[str, Any] | None:
    """The JOSE header of a token shaped like a JWT (three base64url segments, the first a
    JSON object naming an `alg`), or None for anything else, such as a session token."""
    if _SEGMENTS.fullmatch(token) is None:
        return None
    try:
        header = json.loads(base64url_decode(token.split(".", 1)[0]))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(header, dict) or not isinstance(header.get("alg"), str):
        return None
    return header


def _strings(claims: dict[str, Any], name: str) -> tuple[str, ...]:
    value = claims.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise NotAuthenticated(f"The token's {name} claim is not a list of strings")
    return tuple(value)


def _auth_time(claims: dict[str, Any]) -> datetime | None:
    value = claims.get("auth_time")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise NotAuthenticated("The token's auth_time claim is not a number")
    return datetime.fromtimestamp(value, tz=timezone.utc)


def _user(claims: dict[str, Any]) -> KeycardUser:
    subject, session_id, email = claims["sub"], claims["sid"], claims.get("email", "")
    if not all(isinstance(value, str) for value in (subject, session_id, email)):
        raise NotAuthenticated("The token's sub, sid or email claim is not a string")
    return KeycardUser(
        subject=subject,
        email=email,
        roles=_strings(claims, "roles"),
        session_id=session_id,
        amr=_strings(claims, "amr"),
        aal=_AAL_OF_ACR.get(claims.get("acr"), 0),
        auth_time=_auth_time(claims),
        via="jwt",
    )


def require_step_up(user: KeycardUser, max_age: int | None, aal: int | None) -> None:
    """Raises StepUpRequired when the login behind `user` is older than `max_age` seconds
    or below assurance level `aal`; a login of unknown age or level never passes."""
    if max_age is not None:
        proven = user.auth_time.timestamp() if user.auth_time is not None else float("-inf")
        if time.time() - proven > max_age:
            raise StepUpRequired(max_age, aal)
    if aal is not None and user.aal < aal:
        raise StepUpRequired(max_age, aal)


class JwtVerifier:
    """Verifies keycard's JWTs with the keys of its JWKS, or with a shared HS256 secret
    when (and only when) one is configured."""

    def __init__(
        self, *, issuer: str, audience: str | None, hs256_secret: str | None, jwks: JwksCache
    ) -> None:
        self._issuer = issuer
        self._audience = audience
        self._hs256_secret = hs256_secret
        self._jwks = jwks

    async def verify(self, token: str, header: dict[str, Any]) -> KeycardUser:
        """The user a valid token names; NotAuthenticated for any invalid token."""
        key, algorithm = await self._key(header)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                issuer=self._issuer,
                audience=self._audience,
                leeway=LEEWAY_SECONDS,
                options={
                    "require": ["exp", "sub", "sid"],
                    "verify_aud": self._audience is not None,
                },
            )
        except jwt.PyJWTError as error:
            raise NotAuthenticated(f"The token is not valid ({type(error).__name__})") from None
        return _user(claims)

    async def _key(self, header: dict[str, Any]) -> tuple[Any, str]:
        algorithm, kid = header["alg"], header.get("kid")
        if algorithm == "HS256" and self._hs256_secret is not None:
            return self._hs256_secret, algorithm
        if algorithm not in ("EdDSA", "ES256") or not isinstance(kid, str):
            raise NotAuthenticated("The token is not signed the way keycard signs")
        signing = await self._jwks.key(kid)
        if signing.algorithm != algorithm:
            raise NotAuthenticated("The token's algorithm is not its key's")
        return signing.key, algorithm
