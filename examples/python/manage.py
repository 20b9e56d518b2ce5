"""Manage the example database: users and ACL rules, and show what the hooks recorded.

    python3 examples/python/manage.py add-user alice secret
    python3 examples/python/manage.py allow alice publish 'sensors/#'
    python3 examples/python/manage.py deny '*' subscribe '#'
    python3 examples/python/manage.py show

The database is $HOOKMQ_EXAMPLE_DB, or data/example.db in the current directory.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import example_db  # noqa: E402


def main(argv):
    db = example_db.connect()
    if len(argv) == 3 and argv[0] == "add-user":
        salt = os.urandom(8).hex()
        db.execute("INSERT OR REPLACE INTO users VALUES (?, ?, ?)",
                   (argv[1], salt, example_db.password_hash(salt, argv[2])))
    elif len(argv) == 4 and argv[0] in ("allow", "deny") and argv[2] in ("publish", "subscribe", "all"):
        db.execute("INSERT INTO acl (username, action, filter, allow) VALUES (?, ?, ?, ?)",
                   (argv[1], argv[2], argv[3], 1 if argv[0] == "allow" else 0))
    elif argv == ["show"]:
        for table in ("users", "acl", "clients", "history", "messages"):
            print(f"-- {table}")
            for row in db.execute(f"SELECT * FROM {table}"):
                print(row)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
