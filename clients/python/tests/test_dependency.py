"""The FastAPI dependency in an app served by fastapi.testclient: status codes, challenges."""

from __future__ import annotations

import time
import unittest

import httpx
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from support import FakeKeycard, SigningKey, closed_port_url
from test_session import ACTIVE, TOKEN

from keycard_fastapi import Keycard, KeycardUser

INVALID = 'Bearer error="invalid_token"'
STEP_UP = 'Bearer error="insufficient_user_authentication", error_description="A more recent or stronger authentication is required"'


def app_of(keycard: Keycard) -> FastAPI:
    app = FastAPI()

    @app.get("/hello")
    async def hello(current_user: KeycardUser = Depends(keycard.current_user())) -> dict[str, str]:
        return {"message": f"Hello, {current_user['email']}", "via": current_user.via}

    @app.get("/payouts")
    async def payouts(
        user: KeycardUser = Depends(keycard.current_user(max_age=300, aal=2)),
    ) -> dict[str, str]:
        return {"sub": user["sub"]}

    @app.get("/two-factor")
    async def two_factor(user: KeycardUser = Depends(keycard.current_user(aal=2))) -> dict[str, int]:
        return {"aal": user.aal}

    return app


class Dependency(unittest.TestCase):
    def setUp(self) -> None:
        self.key = SigningKey("EdDSA")
        self.fake = FakeKeycard([self.key])
        self.addCleanup(self.fake.close)
        self.client = self.serve(Keycard(self.fake.url))

    def serve(self, keycard: Keycard) -> TestClient:
        client = TestClient(app_of(keycard)).__enter__()
        self.addCleanup(client.__exit__, None, None, None)
        return client

    def get(self, path: str, **headers: str) -> httpx.Response:
        return self.client.get(path, headers=headers)

    def assertRefused(self, reply: httpx.Response, status: int, challenge: str | None) -> None:
        self.assertEqual(reply.status_code, status, reply.text)
        self.assertEqual(reply.headers.get("www-authenticate"), challenge)

    def test_a_jwt_in_authorization_bearer_is_admitted(self) -> None:
        reply = self.get("/hello", Authorization=f"Bearer {self.key.sign()}")
        self.assertEqual(reply.json(), {"message": "Hello, ada@example.com", "via": "jwt"})

    def test_a_session_token_in_x_session_token_is_admitted(self) -> None:
        self.fake.validate_answer = ACTIVE
        reply = self.get("/hello", **{"X-Session-Token": TOKEN})
        self.assertEqual(reply.json(), {"message": "Hello, ada@example.com", "via": "session"})

    def test_authorization_wins_over_x_session_token(self) -> None:
        reply = self.get("/hello", Authorization=f"Bearer {self.key.sign()}", **{"X-Session-Token": TOKEN})
        self.assertEqual(reply.json()["via"], "jwt")

    def test_no_credential_is_a_bare_bearer_challenge(self) -> None:
        self.assertRefused(self.get("/hello"), 401, "Bearer")
        self.assertRefused(self.get("/hello", Authorization="Basic dXNlcjpwdw=="), 401, "Bearer")

    def test_an_invalid_expired_or_revoked_credential_is_invalid_token(self) -> None:
        expired = self.key.sign(exp=int(time.time()) - 60)
        self.assertRefused(self.get("/hello", Authorization=f"Bearer {expired}"), 401, INVALID)
        self.fake.validate_answer = {"active": False, "reason": "INACTIVE_REASON_REVOKED"}
        self.assertRefused(self.get("/hello", **{"X-Session-Token": TOKEN}), 401, INVALID)

    def test_a_step_up_is_the_rfc_9470_challenge_with_what_was_asked(self) -> None:
        old = self.key.sign(auth_time=int(time.time()) - 600)
        reply = self.get("/payouts", Authorization=f"Bearer {old}")
        self.assertRefused(reply, 401, f'{STEP_UP}, max_age="300", acr_values="aal2"')
        one_factor = self.key.sign(acr="aal1")
        reply = self.get("/two-factor", Authorization=f"Bearer {one_factor}")
        self.assertRefused(reply, 401, f'{STEP_UP}, acr_values="aal2"')
        self.assertEqual(self.get("/payouts", Authorization=f"Bearer {self.key.sign()}").json(), {"sub": "user-1"})

    def test_keycards_step_up_refusal_of_a_session_is_the_same_challenge(self) -> None:
        self.fake.validate_answer = {"active": False, "reason": "INACTIVE_REASON_STEP_UP_REQUIRED"}
        reply = self.get("/payouts", **{"X-Session-Token": TOKEN})
        self.assertRefused(reply, 401, f'{STEP_UP}, max_age="300", acr_values="aal2"')

    def test_an_unreachable_keycard_is_503_and_the_token_is_neither_logged_nor_echoed(self) -> None:
        down = self.serve(Keycard(closed_port_url()))
        self.fake.validate_status = 502
        for client in (down, self.client):
            with self.assertLogs("keycard_fastapi", "WARNING") as logs:
                reply = client.get("/hello", headers={"X-Session-Token": TOKEN})
            self.assertRefused(reply, 503, None)
            self.assertNotIn(TOKEN, reply.text + "".join(logs.output))


if __name__ == "__main__":
    unittest.main()
