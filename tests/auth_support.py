"""Helpers for the built-in auth source tests: JWTs signed in the test (HS256 with the standard
library, RS256 / ES256 with `cryptography`), and a real local HTTP server whose answers the
test scripts, recording every request it gets."""

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def login(b, user=None, password=None, cid=None, protocol=5):
    """Connects; returns the connected Client, or the refusal's reason code."""
    from harness import Client
    from test_exhook_support import rc_value
    c = Client(b, username=user, password=password, client_id=cid, protocol=protocol)
    rc = rc_value(c.connect()[1])
    if rc == 0:
        return c
    c.c.loop_stop()
    return rc


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_int(n):
    return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


def jwt(claims, alg="HS256", key=b"secret", kid=None):
    """A compact JWS of `claims` signed with `key` (bytes for HS256, a private key object else)."""
    header = {"alg": alg, "typ": "JWT"}
    if kid:
        header["kid"] = kid
    signing = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}".encode()
    if alg == "HS256":
        sig = hmac.new(key, signing, hashlib.sha256).digest()
    elif alg == "RS256":
        sig = key.sign(signing, padding.PKCS1v15(), hashes.SHA256())
    elif alg == "ES256":
        r, s = decode_dss_signature(key.sign(signing, ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    elif alg == "none":
        sig = b""
    else:
        raise ValueError(alg)
    return f"{signing.decode()}.{b64url(sig)}"


def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


def public_pem(key):
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def jwk(key, kid):
    pub = key.public_key().public_numbers()
    if isinstance(key, rsa.RSAPrivateKey):
        return {"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
                "n": b64url_int(pub.n), "e": b64url_int(pub.e)}
    return {"kty": "EC", "kid": kid, "crv": "P-256", "x": b64url(pub.x.to_bytes(32, "big")),
            "y": b64url(pub.y.to_bytes(32, "big"))}


def now():
    return int(time.time())


class HttpServer:
    """A local HTTP server: `answer(path, fields)` returns (status, body or None, delay); every
    request is recorded as (method, path, fields)."""

    def __init__(self, answer):
        self.requests = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _serve(self, fields):
                url = urlparse(self.path)
                with outer.lock:
                    outer.requests.append((self.command, url.path, fields, dict(self.headers)))
                status, body, delay = answer(url.path, fields)
                if delay:
                    time.sleep(delay)
                data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                q = parse_qs(urlparse(self.path).query)
                self._serve({k: v[0] for k, v in q.items()})

            def do_POST(self):
                n = int(self.headers.get("content-length", 0))
                raw = self.rfile.read(n)
                self._serve(json.loads(raw) if raw else {})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def seen(self, path=None):
        with self.lock:
            return [r for r in self.requests if path is None or r[1] == path]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
