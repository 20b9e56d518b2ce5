"""Shared-subscription strategies with real paho clients: which member of a `$share` group gets
each message, per group (by name or `prefix*`) or for all groups. Each test asserts the property
that tells the strategy apart and that a wrong pick would break."""

import queue
import time

from harness import TIMEOUT, Client

CONFIG = """
[shared_subscriptions]
strategy = "round_robin"

[shared_subscriptions.groups]
rr = "round_robin"
loc = "local"
rnd = "random"
hc = "hash_clientid"
ht = "hash_topic"
"sticky-*" = "sticky"
"""


def members(broker, group, n, filt="s/#"):
    out = []
    for _ in range(n):
        c = Client(broker, protocol=5)
        c.connect()
        c.subscribe(f"$share/{group}/{filt}", 1)
        out.append(c)
    return out


def collect(group, n, timeout=TIMEOUT):
    """Waits until `n` messages arrived over the group; returns {member index: [payload, ...]}."""
    got = {i: [] for i in range(len(group))}
    deadline = time.monotonic() + timeout
    count = 0
    while count < n:
        assert time.monotonic() < deadline, f"{count} of {n} messages arrived: {got}"
        for i, c in enumerate(group):
            try:
                m = c.messages.get(timeout=0.02)
            except queue.Empty:
                continue
            got[i].append(m.payload.decode())
            count += 1
    return got


def assert_one_member_per_key(got):
    """Each payload (the key: a publisher or a topic) went to one member only, and the 8 keys
    did not all go to the same member."""
    owner = {}
    for member, keys in got.items():
        for key in keys:
            assert owner.setdefault(key, member) == member, f"{key} went to two members: {got}"
    assert len(set(owner.values())) >= 2, f"8 keys all hashed to one member: {got}"


def test_round_robin_and_local_give_each_member_its_turn(broker_factory):
    b = broker_factory(CONFIG)
    pub = Client(b)
    pub.connect()
    for name in ("rr", "loc"):
        group = members(b, name, 3)
        for i in range(30):
            pub.publish(f"s/{i}", f"{name}{i}".encode(), qos=1)
        got = collect(group, 30)
        assert sorted(len(v) for v in got.values()) == [10, 10, 10], got


def test_random_reaches_every_member(broker_factory):
    b = broker_factory(CONFIG)
    group = members(b, "rnd", 3)
    pub = Client(b)
    pub.connect()
    for i in range(60):
        pub.publish(f"s/{i}", str(i).encode(), qos=1)
    got = collect(group, 60)
    # A member missing from 60 uniform picks among 3 has probability 3 × (2/3)^60 ≈ 1e-10.
    assert all(got.values()), got
    assert sorted(int(p) for v in got.values() for p in v) == list(range(60))


def test_hash_clientid_keeps_each_publisher_on_one_member(broker_factory):
    b = broker_factory(CONFIG)
    group = members(b, "hc", 3)
    pubs = []
    for k in range(8):
        p = Client(b, client_id=f"device-{k}")
        p.connect()
        pubs.append(p)
    for round_ in range(4):
        for k, p in enumerate(pubs):
            p.publish(f"s/any/{round_}", f"device-{k}".encode(), qos=1)
    assert_one_member_per_key(collect(group, 32))


def test_hash_topic_keeps_each_topic_on_one_member(broker_factory):
    b = broker_factory(CONFIG)
    group = members(b, "ht", 3)
    pub = Client(b)
    pub.connect()
    for round_ in range(4):
        for k in range(8):
            pub.publish(f"s/topic-{k}", f"topic-{k}".encode(), qos=1)
    assert_one_member_per_key(collect(group, 32))


def test_sticky_stays_with_one_member_until_it_goes(broker_factory):
    """Chosen by a `prefix*` group pattern. All messages go to one member; when that member
    disconnects, to one other member, which keeps them after the first comes back."""
    b = broker_factory(CONFIG)
    group = members(b, "sticky-jobs", 3)
    pub = Client(b)
    pub.connect()
    for i in range(12):
        pub.publish(f"s/{i}", str(i).encode(), qos=1)
    got = collect(group, 12)
    chosen = [i for i, v in got.items() if v]
    assert len(chosen) == 1, got
    first = chosen[0]
    group[first].disconnect(wait=True)
    rest = [c for i, c in enumerate(group) if i != first]
    for i in range(12, 24):
        pub.publish(f"s/{i}", str(i).encode(), qos=1)
    got = collect(rest, 12)
    chosen = [i for i, v in got.items() if v]
    assert len(chosen) == 1, got
    second = rest[chosen[0]]
    back = members(b, "sticky-jobs", 1)
    for i in range(24, 30):
        pub.publish(f"s/{i}", str(i).encode(), qos=1)
    got = collect(rest + back, 6)
    assert got[rest.index(second)] == [str(i) for i in range(24, 30)], got


def test_the_global_strategy_applies_to_groups_not_named(broker_factory):
    b = broker_factory('[shared_subscriptions]\nstrategy = "sticky"\n')
    group = members(b, "anything", 3)
    pub = Client(b)
    pub.connect()
    for i in range(9):
        pub.publish(f"s/{i}", str(i).encode(), qos=1)
    got = collect(group, 9)
    assert sorted(len(v) for v in got.values()) == [0, 0, 9], got

