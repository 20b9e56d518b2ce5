"""Use case 3 of EMQX's guide: decide per client and topic whether a publish or subscribe is
allowed.

Rules live in the `acl` table: (user name or `*`, `publish`/`subscribe`/`all`, topic filter,
allow or deny), added with `manage.py allow|deny USER ACTION FILTER`. The user's own rules are
tried before the `*` rules, each group in the order they were added; the first rule whose filter
matches decides. When none matches the hook has no opinion and the broker's
`[authorization] no_match` applies. (A subscription's filter is matched against the rule's
filter level by level, wildcards taken literally.)
"""

from emqx_extension.hooks import EmqxHookSdk, hooks_handler

import example_db

DB = None


class TopicAcl(EmqxHookSdk):
    @hooks_handler()
    def on_client_check_acl(self, clientinfo, pubsub, topic, result, state):
        rules = DB.execute(
            "SELECT filter, allow FROM acl WHERE (username = ? OR username = '*') "
            "AND (action = ? OR action = 'all') ORDER BY username = '*', id",
            (clientinfo.username, pubsub))
        for topic_filter, allow in rules:
            if example_db.topic_matches(topic_filter, topic):
                print(f"[acl] {clientinfo.username!r} {pubsub} {topic}: {'allow' if allow else 'deny'}")
                return bool(allow)
        return None  # no opinion


emqx_hook = TopicAcl(hook_module=f"{__name__}.emqx_hook")


def init():
    global DB
    DB = example_db.connect()
    return emqx_hook.start()


def deinit():
    DB.close()
