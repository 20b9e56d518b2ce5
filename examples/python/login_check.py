"""Use case 1 of EMQX's guide: check a client's login against a database when it connects.

Users live in the `users` table of the example database (add them with
`python3 examples/python/manage.py add-user NAME PASSWORD`); passwords are stored salted and
hashed. A known user with the right password is let in, anyone else is refused.
"""

from emqx_extension.hooks import EmqxHookSdk, hooks_handler

import example_db

DB = None


class LoginCheck(EmqxHookSdk):
    @hooks_handler()
    def on_client_authenticate(self, clientinfo, authresult, state):
        row = DB.execute("SELECT salt, hash FROM users WHERE username = ?",
                         (clientinfo.username,)).fetchone()
        ok = row is not None and example_db.password_hash(row[0], clientinfo.password) == row[1]
        print(f"[login] {clientinfo.clientid} as {clientinfo.username!r}: {'accepted' if ok else 'refused'}")
        return ok  # the SDK sends (0, True) or (0, False): a decision


emqx_hook = LoginCheck(hook_module=f"{__name__}.emqx_hook")


def init():
    global DB
    DB = example_db.connect()
    return emqx_hook.start()


def deinit():
    DB.close()
