"""The sqlite database the example hooks share (one file, opened by each hook module).

Its path is $HOOKMQ_EXAMPLE_DB, or data/example.db under the broker's working directory. WAL mode
and a busy timeout let several worker processes (drivers, or pool_size > 1) use it at once.
"""

import hashlib
import os
import sqlite3
import time

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    salt     TEXT NOT NULL,
    hash     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS acl (
    id       INTEGER PRIMARY KEY,
    username TEXT NOT NULL,          -- a user name, or '*' for everyone
    action   TEXT NOT NULL,          -- 'publish', 'subscribe' or 'all'
    filter   TEXT NOT NULL,          -- an MQTT topic filter
    allow    INTEGER NOT NULL        -- 1 allow, 0 deny
);
CREATE TABLE IF NOT EXISTS clients (
    clientid          TEXT PRIMARY KEY,
    username          TEXT,
    peerhost          TEXT,
    online            INTEGER NOT NULL,
    last_connected    INTEGER,
    last_disconnected INTEGER
);
CREATE TABLE IF NOT EXISTS history (
    id       INTEGER PRIMARY KEY,
    clientid TEXT NOT NULL,
    event    TEXT NOT NULL,          -- 'connected' or 'disconnected'
    reason   TEXT,
    at       INTEGER NOT NULL        -- ms since the epoch
);
CREATE TABLE IF NOT EXISTS messages (
    id        TEXT PRIMARY KEY,      -- the broker's message id
    topic     TEXT NOT NULL,
    payload   BLOB NOT NULL,
    qos       INTEGER NOT NULL,
    sender    TEXT NOT NULL,
    timestamp INTEGER NOT NULL
);
"""


def path():
    return os.environ.get("HOOKMQ_EXAMPLE_DB", os.path.join("data", "example.db"))


def connect():
    db_path = path()
    os.makedirs(os.path.dirname(os.path.abspath(db_path)), exist_ok=True)
    db = sqlite3.connect(db_path, timeout=5.0, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(SCHEMA)
    return db


def password_hash(salt, password):
    return hashlib.sha256((salt + password).encode()).hexdigest()


def now_ms():
    return int(time.time() * 1000)


def topic_matches(topic_filter, topic):
    """MQTT topic matching: '+' one level, '#' the rest; wildcards at the start do not match
    topics starting with '$'."""
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    f_levels, t_levels = topic_filter.split("/"), topic.split("/")
    for i, f in enumerate(f_levels):
        if f == "#":
            return True
        if i >= len(t_levels) or (f != "+" and f != t_levels[i]):
            return False
    return len(f_levels) == len(t_levels)
