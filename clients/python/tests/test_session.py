"""Tokens that are not JWTs are judged by keycard's Validate; here a fake one on a real
socket checks what is sent and how each answer is read (the real keycard: test/e2e)."""

from __future__ import annotations

import unittest
from datetime import datetime, timezone

from support import FakeKeycard, closed_port_url

from keycard_fastapi import Keycard, KeycardUnavailable, NotAuthenticated, StepUpRequired

ACTIVE = {
    "active": True,
    "reason": "INACTIVE_REASON_UNSPECIFIED",
    "subject": "user-1",
    "session_id": "session-1",
    "expires_at": "2030-01-01T12:00:00Z",
    "expires_in": 3600,
    "roles": ["user", "editor"],
    "email": "ada@example.com",
    "display_name": "Ada",
    "kind": "CREDENTIAL_KIND_SESSION",
    "issued_at": "2030-01-01T00:00:00Z",
    "auth_time": "2030-01-01T00:00:05.250Z",
    "amr": ["pwd", "otp"],
    "aal": 2,
}
TOKEN = "kc_sess_c2Vzc2lvbi10b2tlbi1vZi1hZGE"


class SessionTokens(unittest.IsolatedAsyncioTestCase):
    def setUp(self) -> None:
        self.fake = FakeKeycard([])
        self.addCleanup(self.fake.close)
        self.keycard = Keycard(self.fake.url)
        self.addAsyncCleanup(self.keycard.aclose)

    async def test_an_active_session_is_admitted_with_keycards_answer(self) -> None:
        self.fake.validate_answer = ACTIVE
        user = await self.keycard.verify(TOKEN)
        self.assertEqual(self.fake.validate_bodies, [{"token": TOKEN}])
        self.assertEqual(
            (user.subject, user.session_id, user.email, user.roles, user.amr, user.aal, user.via),
            ("user-1", "session-1", "ada@example.com", ("user", "editor"), ("pwd", "otp"), 2, "session"),
        )
        self.assertEqual(user.auth_time, datetime(2030, 1, 1, 0, 0, 5, tzinfo=timezone.utc))
        self.assertEqual(user["roles"], ("user", "editor"))

    async def test_the_step_up_is_asked_of_keycard(self) -> None:
        self.fake.validate_answer = ACTIVE
        await self.keycard.verify(TOKEN, max_age=300, aal=2)
        await self.keycard.verify(TOKEN, max_age=0, aal=0)
        self.assertEqual(
            self.fake.validate_bodies,
            [{"token": TOKEN, "max_auth_age_seconds": 300, "min_aal": 2}, {"token": TOKEN}],
        )

    async def test_keycards_step_up_refusal_is_a_step_up(self) -> None:
        self.fake.validate_answer = {"active": False, "reason": "INACTIVE_REASON_STEP_UP_REQUIRED"}
        with self.assertRaises(StepUpRequired) as refusal:
            await self.keycard.verify(TOKEN, max_age=60)
        self.assertEqual((refusal.exception.max_age, refusal.exception.aal), (60, None))

    async def test_every_other_inactive_answer_is_not_authenticated(self) -> None:
        for reason in ("EXPIRED", "REVOKED", "UNKNOWN", "MALFORMED", "IDLE_TIMEOUT"):
            self.fake.validate_answer = {"active": False, "reason": f"INACTIVE_REASON_{reason}"}
            with self.assertRaises(NotAuthenticated):
                await self.keycard.verify(TOKEN)

    async def test_a_token_shaped_like_a_jwt_without_a_jose_header_goes_to_keycard(self) -> None:
        await self.assertRaisesAsync(NotAuthenticated, "abc.def.ghi")
        self.assertEqual(self.fake.validate_bodies, [{"token": "abc.def.ghi"}])

    async def test_a_huge_token_is_refused_without_asking_keycard(self) -> None:
        await self.assertRaisesAsync(NotAuthenticated, "x" * 10_000)
        self.assertEqual(self.fake.validate_bodies, [])

    async def test_a_request_keycard_refuses_is_not_authenticated(self) -> None:
        self.fake.validate_status = 400
        await self.assertRaisesAsync(NotAuthenticated, TOKEN)

    async def test_a_failing_keycard_is_unavailable(self) -> None:
        for status in (500, 503, 429, 404):
            self.fake.validate_status = status
            await self.assertRaisesAsync(KeycardUnavailable, TOKEN)
        self.fake.validate_status, self.fake.validate_answer = 200, {"active": True}
        await self.assertRaisesAsync(KeycardUnavailable, TOKEN)

    async def test_an_unreachable_keycard_is_unavailable(self) -> None:
        keycard = Keycard(closed_port_url())
        self.addAsyncCleanup(keycard.aclose)
        with self.assertRaises(KeycardUnavailable):
            await keycard.verify(TOKEN)

    async def assertRaisesAsync(self, error: type[Exception], token: str) -> None:
        with self.assertRaises(error):
            await self.keycard.verify(token)


if __name__ == "__main__":
    unittest.main()
