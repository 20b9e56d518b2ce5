"""Use case 2 of EMQX's guide: record each client's online status and its connect/disconnect
history in a database.

`clients` holds one row per client id (online flag, user name, address, last times); `history`
gets a row for every connect and disconnect, with the disconnect reason (`normal`, `closed`,
`keepalive_timeout`, `takenover`, `kicked`, ...).
"""

from emqx_extension.hooks import EmqxHookSdk, hooks_handler

import example_db

DB = None


class OnlineStatus(EmqxHookSdk):
    @hooks_handler()
    def on_client_connected(self, clientinfo, state):
        at = example_db.now_ms()
        DB.execute(
            "INSERT INTO clients (clientid, username, peerhost, online, last_connected) "
            "VALUES (?, ?, ?, 1, ?) ON CONFLICT(clientid) DO UPDATE SET "
            "username = excluded.username, peerhost = excluded.peerhost, online = 1, "
            "last_connected = excluded.last_connected",
            (clientinfo.clientid, clientinfo.username, clientinfo.peerhost, at))
        DB.execute("INSERT INTO history (clientid, event, reason, at) VALUES (?, 'connected', NULL, ?)",
                   (clientinfo.clientid, at))

    @hooks_handler()
    def on_client_disconnected(self, clientinfo, reason, state):
        at = example_db.now_ms()
        DB.execute("UPDATE clients SET online = 0, last_disconnected = ? WHERE clientid = ?",
                   (at, clientinfo.clientid))
        DB.execute("INSERT INTO history (clientid, event, reason, at) VALUES (?, 'disconnected', ?, ?)",
                   (clientinfo.clientid, reason, at))


emqx_hook = OnlineStatus(hook_module=f"{__name__}.emqx_hook")


def init():
    global DB
    DB = example_db.connect()
    return emqx_hook.start()


def deinit():
    DB.close()
