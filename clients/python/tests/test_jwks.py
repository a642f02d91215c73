"""The key set is cached, refetched on an unknown kid at most every 10 s, and refreshed
when its cache time runs out; the clock is a fake one."""

from __future__ import annotations

import unittest

import httpx
from support import FakeKeycard, SigningKey, closed_port_url

from keycard_fastapi import KeycardUnavailable, NotAuthenticated
from keycard_fastapi.jwks import JwksCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class JwksCacheTest(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self) -> None:
        self.old = SigningKey("EdDSA")
        self.fake = FakeKeycard([self.old])
        self.addCleanup(self.fake.close)
        self.http = httpx.AsyncClient(timeout=2.0)
        self.addAsyncCleanup(self.http.aclose)
        self.clock = Clock()
        self.cache = self.cache_at(f"{self.fake.url}/.well-known/jwks.json")

    def cache_at(self, url: str) -> JwksCache:
        return JwksCache(url, self.http, 300, clock=self.clock)

    async def test_a_rotated_in_key_is_found_once_the_refetch_interval_has_passed(self) -> None:
        await self.cache.key(self.old.kid)
        new = SigningKey("ES256")
        self.fake.keys.append(new)
        self.clock.now += 9
        with self.assertRaises(NotAuthenticated):
            await self.cache.key(new.kid)
        self.assertEqual(self.fake.jwks_fetches, 1)
        self.clock.now += 1
        self.assertEqual((await self.cache.key(new.kid)).algorithm, "ES256")
        self.assertEqual(self.fake.jwks_fetches, 2)

    async def test_a_flood_of_made_up_kids_fetches_once_per_interval(self) -> None:
        await self.cache.key(self.old.kid)
        for second in range(30):
            self.clock.now += 1
            for attempt in range(10):
                with self.assertRaises(NotAuthenticated):
                    await self.cache.key(f"forged-{second}-{attempt}")
        self.assertEqual(self.fake.jwks_fetches, 4, "at 0 s, then 10, 20 and 30 s later")

    async def test_a_withdrawn_key_is_refused_once_the_cache_expires(self) -> None:
        await self.cache.key(self.old.kid)
        self.fake.keys.clear()
        self.clock.now += 299
        await self.cache.key(self.old.kid)
        self.clock.now += 1
        with self.assertRaises(NotAuthenticated):
            await self.cache.key(self.old.kid)
        self.assertEqual(self.fake.jwks_fetches, 2)

    async def test_keys_keycard_does_not_sign_with_are_ignored(self) -> None:
        rsa = {"kty": "RSA", "kid": "rsa", "n": "AQAB", "e": "AQAB", "alg": "RS256"}
        secret = {"kty": "oct", "kid": "oct", "k": "c2VjcmV0", "alg": "HS256"}
        mislabelled = {**SigningKey("EdDSA").jwk, "kid": "mislabelled", "alg": "ES256"}
        encrypting = {**SigningKey("EdDSA").jwk, "kid": "encrypting", "use": "enc"}
        self.fake.raw_jwks = [rsa, secret, mislabelled, encrypting, {"kty": "OKP"}, "junk"]
        for kid in ("rsa", "oct", "mislabelled", "encrypting"):
            with self.assertRaises(NotAuthenticated):
                await self.cache.key(kid)
        self.assertEqual((await self.cache.key(self.old.kid)).algorithm, "EdDSA")

    async def test_an_unreachable_keycard_is_unavailable_not_unauthenticated(self) -> None:
        with self.assertRaises(KeycardUnavailable):
            await self.cache_at(f"{closed_port_url()}/.well-known/jwks.json").key("any")

    async def test_a_keycard_without_a_jwks_is_unavailable(self) -> None:
        with self.assertRaises(KeycardUnavailable):
            await self.cache_at(f"{self.fake.url}/no-such-path").key(self.old.kid)


if __name__ == "__main__":
    unittest.main()
