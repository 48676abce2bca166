"""Helpers for tests/auth (a plain module: pytest puts this dir on sys.path). A stand-in Cognito user pool: an RSA key made here, its JWKS served over HTTP from a local server, tokens
signed with it as Cognito signs them (RS256, `kid` in the header). PyJWT verifies them for real."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

POOL_ID = "eu-west-1_TestPool1"
CLIENT_ID = "4b1e0c1example0webclient0id"
WEB_KEY = "w" * 40
KID = "test-key-1"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class FakePool:
    """The issuer of the tokens and the JWKS server; `requests` counts JWKS fetches."""

    base: str
    key: rsa.RSAPrivateKey
    requests: list[str] = field(default_factory=list)

    @property
    def issuer(self) -> str:
        return f"{self.base}/{POOL_ID}"

    def token(
        self,
        *,
        use: str = "access",
        key: rsa.RSAPrivateKey | None = None,
        kid: str = KID,
        lifetime_s: int = 3600,
        **claims: Any,
    ) -> str:
        now = int(time.time())
        body: dict[str, Any] = {
            "sub": "7d0c9a4e-1111-4222-8333-444455556666",
            "iss": self.issuer,
            "token_use": use,
            "iat": now,
            "auth_time": now,
            "exp": now + lifetime_s,
            "jti": "jti-1",
        }
        if use == "access":
            body |= {"client_id": CLIENT_ID, "scope": "openid email profile", "username": "ada"}
        else:
            body |= {"aud": CLIENT_ID, "cognito:username": "ada", "email": "ada@example.com"}
        body |= claims
        return jwt.encode(body, key or self.key, algorithm="RS256", headers={"kid": kid})


@contextlib.contextmanager
def serve_pool() -> Iterator[FakePool]:
    key = new_key()
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwks = json.dumps({"keys": [{**jwk, "kid": KID, "alg": "RS256", "use": "sig"}]}).encode()
    fetched: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fetched.append(self.path)
            if self.path != f"/{POOL_ID}/.well-known/jwks.json":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(jwks)))
            self.end_headers()
            self.wfile.write(jwks)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield FakePool(base=f"http://127.0.0.1:{server.server_address[1]}", key=key, requests=fetched)
    finally:
        server.shutdown()
        server.server_close()
