"""JWTs are verified offline against the JWKS of a fake keycard on a real socket."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import unittest
from datetime import datetime, timezone

import jwt
from support import ISSUER, FakeKeycard, SigningKey, claims

from keycard_fastapi import Keycard, NotAuthenticated, StepUpRequired


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256(secret: bytes, header: dict[str, str], **overrides: object) -> str:
    """A token signed with HMAC-SHA256 by hand, as an attacker would forge one."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims(**overrides)).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


class JwtTestCase(unittest.IsolatedAsyncioTestCase):
    def setUp(self) -> None:
        self.ed = SigningKey("EdDSA")
        self.es = SigningKey("ES256")
        self.fake = FakeKeycard([self.ed, self.es])
        self.addCleanup(self.fake.close)
        self.keycard = self.make(audience="orders")

    def make(self, **options: object) -> Keycard:
        keycard = Keycard(self.fake.url, **options)  # type: ignore[arg-type]
        self.addAsyncCleanup(keycard.aclose)
        return keycard

    async def assertRefused(self, token: str, keycard: Keycard | None = None) -> None:
        with self.assertRaises(NotAuthenticated):
            await (keycard or self.keycard).verify(token)


class GoodTokens(JwtTestCase):
    async def test_an_eddsa_token_is_admitted_with_its_claims(self) -> None:
        user = await self.keycard.verify(self.ed.sign(auth_time=1_800_000_000))
        self.assertEqual(
            (user.subject, user.session_id, user.email, user.roles, user.amr, user.aal, user.via),
            ("user-1", "session-1", "ada@example.com", ("user",), ("pwd", "otp"), 2, "jwt"),
        )
        self.assertEqual(user.auth_time, datetime(2027, 1, 15, 8, 0, tzinfo=timezone.utc))
        self.assertEqual((user["email"], user["sub"], user["sid"]), (user.email, "user-1", "session-1"))
        self.assertEqual(self.fake.validate_bodies, [], "a JWT is verified without asking keycard")

    async def test_an_es256_token_is_admitted(self) -> None:
        self.assertEqual((await self.keycard.verify(self.es.sign(sub="user-2"))).subject, "user-2")

    async def test_the_key_set_is_fetched_once_for_many_tokens(self) -> None:
        for _ in range(5):
            await self.keycard.verify(self.ed.sign())
        self.assertEqual(self.fake.jwks_fetches, 1)

    async def test_without_an_audience_any_audience_is_accepted(self) -> None:
        await self.make().verify(self.ed.sign(aud="billing"))

    async def test_five_seconds_of_clock_difference_are_tolerated(self) -> None:
        now = int(time.time())
        await self.keycard.verify(self.ed.sign(exp=now - 2, iat=now + 2, nbf=now + 2))


class RefusedTokens(JwtTestCase):
    async def test_another_issuer_is_refused(self) -> None:
        await self.assertRefused(self.ed.sign(iss="evil"))
        await self.assertRefused(self.ed.sign(iss=None))

    async def test_another_audience_or_none_is_refused_when_one_is_configured(self) -> None:
        await self.assertRefused(self.ed.sign(aud="billing"))
        await self.assertRefused(self.ed.sign(aud=None))

    async def test_an_expired_token_is_refused(self) -> None:
        await self.assertRefused(self.ed.sign(exp=int(time.time()) - 10))

    async def test_a_token_not_yet_valid_is_refused(self) -> None:
        await self.assertRefused(self.ed.sign(nbf=int(time.time()) + 60))
        await self.assertRefused(self.ed.sign(iat=int(time.time()) + 60))

    async def test_a_token_without_sub_sid_or_exp_is_refused(self) -> None:
        for missing in ("sub", "sid", "exp"):
            await self.assertRefused(self.ed.sign(**{missing: None}))

    async def test_a_tampered_signature_or_payload_is_refused(self) -> None:
        header, payload, signature = self.ed.sign().split(".")
        flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
        await self.assertRefused(f"{header}.{payload}.{flipped}")
        forged = _b64(json.dumps(claims(sub="admin")).encode())
        await self.assertRefused(f"{header}.{forged}.{signature}")

    async def test_alg_none_is_refused_without_fetching_keys(self) -> None:
        await self.assertRefused(jwt.encode(claims(), None, "none", {"kid": self.ed.kid}))
        self.assertEqual(self.fake.jwks_fetches, 0)

    async def test_hs256_signed_with_the_public_key_is_refused(self) -> None:
        x = self.ed.jwk["x"].encode()
        for secret in (x, base64.urlsafe_b64decode(self.ed.jwk["x"] + "=")):
            token = hs256(secret, {"alg": "HS256", "kid": self.ed.kid})
            await self.assertRefused(token)
            await self.assertRefused(token, self.make(hs256_secret="the shared secret"))

    async def test_a_key_is_used_only_with_its_own_algorithm(self) -> None:
        token = jwt.encode(claims(), self.ed.private, "EdDSA", {"kid": self.es.kid})
        await self.assertRefused(token)

    async def test_an_unknown_kid_is_refused_and_refetches_at_most_once(self) -> None:
        await self.keycard.verify(self.ed.sign())
        stranger = SigningKey("EdDSA")
        for _ in range(20):
            await self.assertRefused(stranger.sign())
        self.assertEqual(self.fake.jwks_fetches, 1, "the refetch waits 10 s after the last fetch")


class SharedSecret(JwtTestCase):
    secret = "a shared secret of at least 32 bytes!"

    async def test_hs256_is_admitted_only_when_configured(self) -> None:
        token = jwt.encode(claims(), self.secret, "HS256")
        user = await self.make(hs256_secret=self.secret).verify(token)
        self.assertEqual(user.subject, "user-1")
        self.assertEqual(self.fake.jwks_fetches, 0, "no JWKS is needed for HS256")
        await self.assertRefused(token)
        await self.assertRefused(token, self.make(hs256_secret="another secret of 32 bytes!!!!!"))


class StepUp(JwtTestCase):
    async def test_an_old_login_must_step_up_for_max_age(self) -> None:
        token = self.ed.sign(auth_time=int(time.time()) - 600)
        with self.assertRaises(StepUpRequired) as refusal:
            await self.keycard.verify(token, max_age=300)
        self.assertEqual((refusal.exception.max_age, refusal.exception.aal), (300, None))
        await self.keycard.verify(token, max_age=900)

    async def test_a_login_of_unknown_age_must_step_up_for_max_age(self) -> None:
        with self.assertRaises(StepUpRequired):
            await self.keycard.verify(self.ed.sign(auth_time=None), max_age=300)

    async def test_a_one_factor_login_must_step_up_for_aal2(self) -> None:
        token = self.ed.sign(acr="aal1", amr=["pwd"])
        with self.assertRaises(StepUpRequired) as refusal:
            await self.keycard.verify(token, aal=2)
        self.assertEqual((refusal.exception.max_age, refusal.exception.aal), (None, 2))
        self.assertEqual((await self.keycard.verify(token, aal=1)).aal, 1)
        await self.keycard.verify(self.ed.sign(acr="aal2"), max_age=300, aal=2)

    async def test_a_bad_step_up_request_is_a_programming_error(self) -> None:
        with self.assertRaises(ValueError):
            await self.keycard.verify(self.ed.sign(), aal=3)
        with self.assertRaises(ValueError):
            self.keycard.current_user(max_age=-1)


if __name__ == "__main__":
    unittest.main()
