"""A no-op client_authenticate hook for benchmarks (raw protocol, no SDK): no decision, so the
broker's own default (allow_anonymous) applies."""


def init():
    return (0, ([("client_authenticate", "noop_auth", "on_client_authenticate")], ()))


def on_client_authenticate(clientinfo, result, state):
    return None
