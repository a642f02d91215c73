"""What the tests share: signing keys, a token factory, and a fake keycard on a real socket
serving a JWKS and a Validate endpoint whose answers each test sets."""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from jwt.algorithms import ECAlgorithm, OKPAlgorithm

ISSUER = "keycard"


class SigningKey:
    """A private key and the public JWK keycard would publish for it."""

    def __init__(self, algorithm: str) -> None:
        self.algorithm = algorithm
        self.kid = f"{algorithm.lower()}-{uuid.uuid4().hex[:8]}"
        self.private: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
        if algorithm == "EdDSA":
            self.private = ed25519.Ed25519PrivateKey.generate()
            public = OKPAlgorithm.to_jwk(self.private.public_key())
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())
            public = ECAlgorithm.to_jwk(self.private.public_key())
        self.jwk = {**json.loads(public), "kid": self.kid, "alg": algorithm, "use": "sig"}

    def sign(self, **overrides: Any) -> str:
        """A token as keycard issues it; `overrides` replace claims (None removes one)."""
        return jwt.encode(claims(**overrides), self.private, self.algorithm, {"kid": self.kid})


def claims(**overrides: Any) -> dict[str, Any]:
    """keycard's claims for a fresh two-factor login; `overrides` replace (None removes)."""
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "sub": "user-1",
        "aud": "orders",
        "exp": now + 300,
        "iat": now,
        "nbf": now,
        "jti": uuid.uuid4().hex,
        "sid": "session-1",
        "auth_time": now - 10,
        "amr": ["pwd", "otp"],
        "acr": "aal2",
        "roles": ["user"],
        "email": "ada@example.com",
    }
    base.update(overrides)
    return {name: value for name, value in base.items() if value is not None}


class FakeKeycard:
    """A stdlib HTTP server on an ephemeral port: `GET /.well-known/jwks.json` serves the
    JWKs of `keys` and then `raw_jwks` (counting fetches); `POST /auth/validate` answers
    `validate_answer` with `validate_status` and records the bodies it was sent."""

    def __init__(self, keys: list[SigningKey]) -> None:
        self.keys = keys
        self.raw_jwks: list[Any] = []
        self.jwks_fetches = 0
        self.validate_status = 200
        self.validate_answer: dict[str, Any] = {"active": False}
        self.validate_bodies: list[dict[str, Any]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(fake: FakeKeycard) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/.well-known/jwks.json":
                return self._reply(404, {})
            fake.jwks_fetches += 1
            self._reply(200, {"keys": [key.jwk for key in fake.keys] + fake.raw_jwks})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            fake.validate_bodies.append(json.loads(self.rfile.read(length)))
            self._reply(fake.validate_status, fake.validate_answer)

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def closed_port_url() -> str:
    """The URL of a port nothing listens on: a keycard that is down."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()
    return f"http://127.0.0.1:{port}"
