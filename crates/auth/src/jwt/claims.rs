//! A token's ACL claim read into first-match rules (the same [`Rule`]s as the ACL file, with
//! the same safe `%u` / `%c` / `${username}` / `${clientid}` substitution). Two shapes are read,
//! as EMQX 5 issues them:
//!
//! ```json
//! {"acl": {"pub": ["up/${clientid}"], "sub": ["down/${clientid}/#"], "all": ["chat/#"]}}
//! {"acl": [{"permission": "allow", "action": "publish", "topic": "up/${clientid}"},
//!          {"permission": "deny", "action": "all", "topics": ["#"]}]}
//! ```
//!
//! The authorization event carries no QoS or retain flag, so a rule with `qos` / `retain`
//! conditions is read conservatively: an allow rule with conditions is left out, a deny rule
//! applies without them.

use serde_json::Value as Json;

use crate::acl::{Access, Permission, Rule, TopicPattern, Who};

fn topics(v: &Json) -> Result<Vec<TopicPattern>, String> {
    let list: Vec<&Json> = match v {
        Json::String(_) => vec![v],
        Json::Array(items) => items.iter().collect(),
        _ => return Err("topics must be a string or a list of strings".into()),
    };
    list.into_iter()
        .map(|t| match t {
            Json::String(s) => match s.strip_prefix("eq ") {
                Some(exact) => TopicPattern::parse(exact, true),
                None => TopicPattern::parse(s, false),
            },
            _ => Err("topics must be strings".into()),
        })
        .collect()
}

fn access(name: &str) -> Result<Access, String> {
    match name {
        "pub" | "publish" => Ok(Access::Publish),
        "sub" | "subscribe" => Ok(Access::Subscribe),
        "all" | "pubsub" => Ok(Access::All),
        other => Err(format!("unknown action {other:?}")),
    }
}

/// Reads the ACL claim.
pub(crate) fn parse(claim: &Json) -> Result<Vec<Rule>, String> {
    let mut rules = Vec::new();
    match claim {
        Json::Object(map) => {
            for (name, list) in map {
                rules.push(Rule {
                    permission: Permission::Allow,
                    who: Who::All,
                    access: access(name)?,
                    topics: topics(list)?,
                    line: 0,
                });
            }
        }
        Json::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let Json::Object(r) = item else {
                    return Err(format!("rule {i} is not an object"));
                };
                let permission = match r.get("permission").and_then(Json::as_str) {
                    Some("allow") => Permission::Allow,
                    Some("deny") => Permission::Deny,
                    _ => return Err(format!("rule {i}: permission must be allow or deny")),
                };
                let conditional = r.contains_key("qos") || r.contains_key("retain");
                if conditional && permission == Permission::Allow {
                    continue;
                }
                let action = r.get("action").and_then(Json::as_str).unwrap_or("all");
                let t = r
                    .get("topics")
                    .or_else(|| r.get("topic"))
                    .ok_or_else(|| format!("rule {i}: no topic"))?;
                rules.push(Rule {
                    permission,
                    who: Who::All,
                    access: access(action).map_err(|m| format!("rule {i}: {m}"))?,
                    topics: topics(t).map_err(|m| format!("rule {i}: {m}"))?,
                    line: i + 1,
                });
            }
        }
        _ => return Err("the ACL claim must be an object or a list".into()),
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::{Acl, Identity, Requester};
    use hookmq_hooks::Action;

    fn decide(rules: &[Rule], user: &str, action: Action, topic: &str) -> Option<bool> {
        let acl = Acl {
            rules: rules.to_vec(),
        };
        let who = Requester {
            id: Identity {
                username: Some(user),
                clientid: "c1",
            },
            ip: "127.0.0.1".parse().unwrap(),
        };
        acl.decide(&who, action, topic)
            .map(|r| r.permission == Permission::Allow)
    }

    #[test]
    fn both_claim_shapes() {
        let old =
            parse(&serde_json::json!({"pub": ["up/${clientid}"], "sub": ["down/%u/#"]})).unwrap();
        assert_eq!(decide(&old, "u", Action::Publish, "up/c1"), Some(true));
        assert_eq!(decide(&old, "u", Action::Subscribe, "up/c1"), None);
        assert_eq!(decide(&old, "u", Action::Subscribe, "down/u/x"), Some(true));
        assert_eq!(decide(&old, "+", Action::Subscribe, "down/+/x"), None);
        let new = parse(&serde_json::json!([
            {"permission": "deny", "action": "publish", "topic": "up/secret"},
            {"permission": "allow", "action": "publish", "topic": "up/#", "qos": [2]},
            {"permission": "allow", "action": "all", "topics": ["up/#", "eq #"]},
        ]))
        .unwrap();
        assert_eq!(new.len(), 2);
        assert_eq!(decide(&new, "u", Action::Publish, "up/secret"), Some(false));
        assert_eq!(decide(&new, "u", Action::Publish, "up/x"), Some(true));
        assert_eq!(decide(&new, "u", Action::Subscribe, "#"), Some(true));
        assert_eq!(decide(&new, "u", Action::Subscribe, "a/#"), None);
        for bad in [
            serde_json::json!("x"),
            serde_json::json!({"publish": 3}),
            serde_json::json!([{"permission": "maybe", "topic": "x"}]),
            serde_json::json!([{"permission": "allow"}]),
            serde_json::json!({"read": ["x"]}),
        ] {
            assert!(parse(&bad).is_err(), "{bad}");
        }
    }
}
