//! The extension's `Register` answer: which hook points it handles, with topic filters for the
//! `message.*` points and an observe-only flag per point. Unknown points and invalid filters fail
//! the load with a message naming them; a point listed twice is registered once with the union
//! of its filters (observe-only only if every listing says so).

use hookmq_hooks::{HookPoint, PointKind, PointSpec};

use crate::proto::v1 as pb;

/// The protocol version this broker speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// One registered point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The point and its topic filters.
    pub spec: PointSpec,
    /// Events are sent without waiting and expect no reply.
    pub observe: bool,
}

impl Registration {
    /// Whether the broker waits for a reply to this point's events: valued points that are not
    /// observe-only.
    pub fn awaits_reply(&self) -> bool {
        self.spec.point.kind() == PointKind::Valued && !self.observe
    }
}

/// Why a `Register` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    /// The extension speaks another version.
    #[error("the extension speaks protocol version {0}; this broker speaks {PROTOCOL_VERSION}")]
    Version(u32),
    /// A point name that does not exist.
    #[error("unknown hook point {0:?}")]
    UnknownPoint(String),
    /// A topic filter that is not valid.
    #[error("invalid topic filter {filter:?} for {point}")]
    BadFilter {
        /// The point.
        point: HookPoint,
        /// The filter.
        filter: String,
    },
}

/// Reads a `Register`.
pub fn registrations(register: &pb::Register) -> Result<Vec<Registration>, RegisterError> {
    if register.protocol_version != PROTOCOL_VERSION {
        return Err(RegisterError::Version(register.protocol_version));
    }
    let mut out: Vec<Registration> = Vec::new();
    for hook in &register.hooks {
        let point = HookPoint::from_name(&hook.point)
            .ok_or_else(|| RegisterError::UnknownPoint(hook.point.chars().take(128).collect()))?;
        let topics = if point.is_message() {
            hook.topics.clone()
        } else {
            Vec::new()
        };
        if let Some(bad) = topics
            .iter()
            .find(|t| hookmq_codec::topic::validate_filter(t).is_err())
        {
            return Err(RegisterError::BadFilter {
                point,
                filter: bad.chars().take(256).collect(),
            });
        }
        match out.iter_mut().find(|r| r.spec.point == point) {
            Some(existing) => {
                existing.observe &= hook.observe;
                existing.spec.observe = existing.observe;
                let spec = &mut existing.spec;
                if spec.topics.is_empty() || topics.is_empty() {
                    // An empty list already means every topic.
                    spec.topics.clear();
                } else {
                    for t in topics {
                        if !spec.topics.contains(&t) {
                            spec.topics.push(t);
                        }
                    }
                }
            }
            None => out.push(Registration {
                spec: PointSpec {
                    point,
                    topics,
                    observe: hook.observe,
                },
                observe: hook.observe,
            }),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(point: &str, topics: &[&str], observe: bool) -> pb::HookRegistration {
        pb::HookRegistration {
            point: point.into(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            observe,
        }
    }

    fn register(hooks: Vec<pb::HookRegistration>) -> pb::Register {
        pb::Register {
            protocol_version: 1,
            name: "t".into(),
            hooks,
        }
    }

    #[test]
    fn points_merge_and_keep_their_flags() {
        let r = registrations(&register(vec![
            hook("client.authenticate", &["ignored"], false),
            hook("client.check_acl", &[], false),
            hook("message.publish", &["a/#"], true),
            hook("message.publish", &["b"], true),
            hook("message.delivered", &["x"], true),
            hook("message.delivered", &[], false),
        ]))
        .unwrap();
        let got: Vec<_> = r
            .iter()
            .map(|r| (r.spec.point, r.spec.topics.clone(), r.observe))
            .collect();
        assert_eq!(
            got,
            [
                (HookPoint::ClientAuthenticate, vec![], false),
                (HookPoint::ClientAuthorize, vec![], false),
                (
                    HookPoint::MessagePublish,
                    vec!["a/#".to_string(), "b".into()],
                    true
                ),
                (HookPoint::MessageDelivered, vec![], false),
            ]
        );
        assert!(r[0].awaits_reply());
        assert!(!r[2].awaits_reply());
        assert!(!r[3].awaits_reply());
    }

    #[test]
    fn bad_versions_points_and_filters_are_refused() {
        let mut r = register(vec![]);
        r.protocol_version = 2;
        assert_eq!(registrations(&r), Err(RegisterError::Version(2)));
        assert_eq!(
            registrations(&register(vec![hook("client.boot", &[], false)])),
            Err(RegisterError::UnknownPoint("client.boot".into()))
        );
        assert!(matches!(
            registrations(&register(vec![hook("message.acked", &["a/#/b"], false)])),
            Err(RegisterError::BadFilter { .. })
        ));
    }
}
