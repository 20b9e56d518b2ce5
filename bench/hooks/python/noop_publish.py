"""A no-op message_publish hook for benchmarks, written against the raw port protocol (no SDK),
so the figures measure the driver and the runtime, not the SDK's argument parsing."""


def init():
    return (0, ([("message_publish", "noop_publish", "on_message_publish")], ()))


def on_message_publish(message, state):
    return None
