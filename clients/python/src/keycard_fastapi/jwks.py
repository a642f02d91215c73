"""keycard's public signing keys, fetched from its JWKS and kept for a while."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from jwt.algorithms import get_default_algorithms

from .errors import KeycardUnavailable, NotAuthenticated

# The only key types keycard signs with, and the one algorithm each may be used with: a
# token is checked with the algorithm its key declares, never the one its header claims.
_ALGORITHMS: dict[tuple[object, object], str] = {
    ("OKP", "Ed25519"): "EdDSA",
    ("EC", "P-256"): "ES256",
}

#: An unknown `kid` fetches the JWKS again at most this often (seconds), so a flood of
#: tokens with made-up key ids costs keycard one request per interval, not one each.
REFETCH_INTERVAL = 10.0


@dataclass(frozen=True)
class SigningKey:
    """A public key from the JWKS and the one algorithm it verifies."""

    algorithm: str
    key: Any


def _signing_key(jwk: Any) -> SigningKey | None:
    """The key a JWK describes, or None when it is not an Ed25519 or P-256 signing key."""
    if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
        return None
    if jwk.get("use", "sig") != "sig":
        return None
    algorithm = _ALGORITHMS.get((jwk.get("kty"), jwk.get("crv")))
    if algorithm is None or jwk.get("alg", algorithm) != algorithm:
        return None
    try:
        return SigningKey(algorithm, get_default_algorithms()[algorithm].from_jwk(jwk))
    except (jwt.PyJWTError, ValueError, KeyError, TypeError):
        return None


class JwksCache:
    """The key set at `url`, fetched when first needed, kept `cache_seconds`, and fetched
    again early when a token names a key it does not hold (a rotation), rate-limited."""

    def __init__(
        self,
        url: str,
        http: httpx.AsyncClient,
        cache_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._http = http
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._keys: dict[str, SigningKey] = {}
        self._fetched_at: float | None = None
        self._attempted_at = float("-inf")
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> SigningKey:
        """The key with id `kid`; NotAuthenticated when keycard does not publish one."""
        if self._needs_fetch(kid):
            async with self._lock:
                if self._needs_fetch(kid):
                    await self._fetch()
        key = self._keys.get(kid)
        if key is None:
            raise NotAuthenticated("The token was signed with a key keycard does not publish")
        return key

    def _needs_fetch(self, kid: str) -> bool:
        now = self._clock()
        if self._fetched_at is None or now - self._fetched_at >= self._cache_seconds:
            return True
        return kid not in self._keys and now - self._attempted_at >= REFETCH_INTERVAL

    async def _fetch(self) -> None:
        self._attempted_at = self._clock()
        try:
            response = await self._http.get(self._url)
            response.raise_for_status()
            jwks = response.json()["keys"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
            raise KeycardUnavailable(
                f"keycard's JWKS could not be fetched ({type(error).__name__})"
            ) from None
        if not isinstance(jwks, list):
            raise KeycardUnavailable("keycard's JWKS has no list of keys")
        self._keys = {jwk["kid"]: key for jwk in jwks if (key := _signing_key(jwk)) is not None}
        self._fetched_at = self._attempted_at
