"""hookmq-ext: write hookmq extensions in Python (asyncio + grpcio).

An extension is a gRPC server speaking hookmq's extension protocol; the broker (configured with
``[[ext.servers]]``) connects to it and sends batches of hook events over bidirectional streams.

    from hookmq_ext import Auth, Extension, hook, run

    class Login(Extension):
        @hook("client.authenticate")
        def on_client_authenticate(self, event):
            ok = event.clientinfo.username == "alice" and event.clientinfo.password == b"pw"
            return Auth.ALLOW if ok else Auth.BAD_CREDENTIALS

    run(Login(), "127.0.0.1:9200")
"""

from .answers import (Auth, AuthContinue, AuthFailure, AuthSuccess, Continue, Fail, Filter,
                      Publish, Stop)
from .broker import Broker, NotConnected, ServiceError
from .extension import PROTOCOL_VERSION, Extension, hook
from .server import run, serve, start

__all__ = ["Auth", "AuthContinue", "AuthFailure", "AuthSuccess", "Broker", "Continue", "Extension",
           "Fail", "Filter", "NotConnected", "PROTOCOL_VERSION", "Publish", "ServiceError", "Stop",
           "hook", "run", "serve", "start"]
