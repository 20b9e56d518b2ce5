"""Use case 1: a login check against a database (SQLite here).

Users live in a table ``users(username, salt, hash, superuser)`` with salted SHA-256 password
hashes. ``client.authenticate`` looks the client up: a wrong password is refused with
"bad user name or password", an unknown user is left to the next handler (or to the broker's
``allow_anonymous``), a superuser skips authorization.

    python login_sqlite.py --db users.db --add alice:secret --add root:pw:super   # create users
    python login_sqlite.py --db users.db --listen 127.0.0.1:9200                  # serve

hookmq.toml:

    [[ext.servers]]
    name = "login"
    url = "http://127.0.0.1:9200"
"""

import argparse
import hashlib
import hmac
import os
import sqlite3

from hookmq_ext import Auth, Extension, hook, run

SCHEMA = "CREATE TABLE IF NOT EXISTS users (username TEXT PRIMARY KEY, salt BLOB, hash BLOB, superuser INTEGER)"


def digest(salt, password):
    return hashlib.sha256(salt + password).digest()


def add_user(db, username, password, superuser=False):
    salt = os.urandom(16)
    db.execute("INSERT OR REPLACE INTO users VALUES (?, ?, ?, ?)",
               (username, salt, digest(salt, password.encode()), int(superuser)))
    db.commit()


class Login(Extension):
    name = "login-sqlite"

    def __init__(self, path):
        self.db = sqlite3.connect(path)
        self.db.execute(SCHEMA)

    @hook("client.authenticate")
    def on_client_authenticate(self, event):
        client = event.clientinfo
        if not client.HasField("username"):
            return None
        row = self.db.execute("SELECT salt, hash, superuser FROM users WHERE username = ?",
                              (client.username,)).fetchone()
        if row is None:
            return None  # not ours: the next handler (or allow_anonymous) decides
        salt, expected, superuser = row
        if not hmac.compare_digest(digest(salt, client.password), expected):
            return Auth.BAD_CREDENTIALS
        return Auth.SUPERUSER if superuser else Auth.ALLOW


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", required=True)
    p.add_argument("--listen", default="127.0.0.1:9200")
    p.add_argument("--add", action="append", default=[], metavar="USER:PASSWORD[:super]")
    args = p.parse_args()
    if args.add:
        db = sqlite3.connect(args.db)
        db.execute(SCHEMA)
        for spec in args.add:
            user, password, *flag = spec.split(":")
            add_user(db, user, password, superuser=flag == ["super"])
        return
    run(Login(args.db), args.listen)


if __name__ == "__main__":
    main()
