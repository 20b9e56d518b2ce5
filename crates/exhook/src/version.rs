//! The three protocol packages (`emqx.exhook.v1`, `v2`, `v3`): their RPC paths and hook names.
//! Field numbers are shared by all three, so requests are built once as v3 messages
//! (`request.rs`) and only the few fields that differ are adjusted per version.

use std::fmt;

use hookmq_hooks::HookPoint;
use tonic::codegen::http::uri::PathAndQuery;

/// A protocol package a server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProtoVersion {
    /// `emqx.exhook.v1`: EMQX 4.3 and 4.4.
    V1,
    /// `emqx.exhook.v2`: EMQX 5.0 to 5.8.
    V2,
    /// `emqx.exhook.v3`: EMQX 5.9 and later, 6.x.
    V3,
}

impl ProtoVersion {
    /// The order `proto = "auto"` tries them in.
    pub const PROBE_ORDER: [ProtoVersion; 3] =
        [ProtoVersion::V3, ProtoVersion::V2, ProtoVersion::V1];

    /// `v1`, `v2` or `v3`.
    pub fn name(self) -> &'static str {
        match self {
            ProtoVersion::V1 => "v1",
            ProtoVersion::V2 => "v2",
            ProtoVersion::V3 => "v3",
        }
    }

    /// The protobuf package, e.g. `emqx.exhook.v3`.
    pub fn package(self) -> &'static str {
        match self {
            ProtoVersion::V1 => "emqx.exhook.v1",
            ProtoVersion::V2 => "emqx.exhook.v2",
            ProtoVersion::V3 => "emqx.exhook.v3",
        }
    }

    /// The hook name this version uses in `HookSpec.name`, e.g. `client.check_acl` in v1.
    pub fn hook_name(self, point: HookPoint) -> &'static str {
        match self {
            ProtoVersion::V1 => point.v1_name(),
            ProtoVersion::V2 | ProtoVersion::V3 => point.name(),
        }
    }

    /// Reads a `HookSpec.name`. Both the current and the v1 spelling are accepted in every
    /// version (a server written for one EMQX generation and pointed at another still loads).
    /// Points EMQX does not have (`client.enhanced_authenticate`) have no RPC in these frozen
    /// protocols and are not read.
    pub fn parse_hook(self, name: &str) -> Option<HookPoint> {
        HookPoint::ALL
            .into_iter()
            .filter(|p| p.in_emqx())
            .find(|p| p.name() == name || p.v1_name() == name)
    }

    /// The RPC method called for `point`, e.g. `OnClientAuthorize` (`OnClientCheckAcl` in v1).
    pub fn method(self, point: HookPoint) -> &'static str {
        let v1 = self == ProtoVersion::V1;
        match point {
            HookPoint::ClientConnect => "OnClientConnect",
            HookPoint::ClientConnack => "OnClientConnack",
            HookPoint::ClientConnected => "OnClientConnected",
            HookPoint::ClientDisconnected => "OnClientDisconnected",
            HookPoint::ClientAuthenticate => "OnClientAuthenticate",
            HookPoint::ClientAuthorize if v1 => "OnClientCheckAcl",
            HookPoint::ClientAuthorize => "OnClientAuthorize",
            HookPoint::ClientSubscribe => "OnClientSubscribe",
            HookPoint::ClientUnsubscribe => "OnClientUnsubscribe",
            HookPoint::SessionCreated => "OnSessionCreated",
            HookPoint::SessionSubscribed => "OnSessionSubscribed",
            HookPoint::SessionUnsubscribed => "OnSessionUnsubscribed",
            HookPoint::SessionResumed => "OnSessionResumed",
            HookPoint::SessionDiscarded => "OnSessionDiscarded",
            HookPoint::SessionTakenover if v1 => "OnSessionTakeovered",
            HookPoint::SessionTakenover => "OnSessionTakenover",
            HookPoint::SessionTerminated => "OnSessionTerminated",
            HookPoint::MessagePublish => "OnMessagePublish",
            HookPoint::MessageDelivered => "OnMessageDelivered",
            HookPoint::MessageAcked => "OnMessageAcked",
            HookPoint::MessageDropped => "OnMessageDropped",
            // No such RPC: `parse_hook` never yields this point, so it is never called.
            HookPoint::ClientEnhancedAuthenticate => "OnClientEnhancedAuthenticate",
        }
    }
}

impl fmt::Display for ProtoVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The HTTP/2 paths of one version's RPCs, built once per load.
#[derive(Debug, Clone)]
pub(crate) struct Paths {
    pub(crate) loaded: PathAndQuery,
    pub(crate) unloaded: PathAndQuery,
    hooks: Vec<PathAndQuery>,
}

impl Paths {
    pub(crate) fn new(version: ProtoVersion) -> Paths {
        let path = |method: &str| {
            let text = format!("/{}.HookProvider/{method}", version.package());
            // Package and method names are fixed ASCII identifiers, always a valid path.
            PathAndQuery::try_from(text).unwrap_or_else(|_| PathAndQuery::from_static("/"))
        };
        Paths {
            loaded: path("OnProviderLoaded"),
            unloaded: path("OnProviderUnloaded"),
            hooks: HookPoint::ALL
                .into_iter()
                .map(|p| path(version.method(p)))
                .collect(),
        }
    }

    pub(crate) fn hook(&self, point: HookPoint) -> &PathAndQuery {
        &self.hooks[point.index()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_the_package_and_rpc() {
        let v3 = Paths::new(ProtoVersion::V3);
        assert_eq!(
            v3.hook(HookPoint::MessagePublish).as_str(),
            "/emqx.exhook.v3.HookProvider/OnMessagePublish"
        );
        assert_eq!(
            v3.loaded.as_str(),
            "/emqx.exhook.v3.HookProvider/OnProviderLoaded"
        );
        let v1 = Paths::new(ProtoVersion::V1);
        assert_eq!(
            v1.hook(HookPoint::ClientAuthorize).as_str(),
            "/emqx.exhook.v1.HookProvider/OnClientCheckAcl"
        );
        assert_eq!(
            v1.hook(HookPoint::SessionTakenover).as_str(),
            "/emqx.exhook.v1.HookProvider/OnSessionTakeovered"
        );
        assert_eq!(
            Paths::new(ProtoVersion::V2).unloaded.as_str(),
            "/emqx.exhook.v2.HookProvider/OnProviderUnloaded"
        );
    }

    #[test]
    fn hook_names_of_both_generations_are_read() {
        for v in ProtoVersion::PROBE_ORDER {
            assert_eq!(
                v.parse_hook("client.check_acl"),
                Some(HookPoint::ClientAuthorize)
            );
            assert_eq!(
                v.parse_hook("client.authorize"),
                Some(HookPoint::ClientAuthorize)
            );
            assert_eq!(
                v.parse_hook("session.takeovered"),
                Some(HookPoint::SessionTakenover)
            );
            assert_eq!(v.parse_hook("client_check_acl"), None);
            assert_eq!(v.parse_hook("client.nope"), None);
            assert_eq!(v.parse_hook("client.enhanced_authenticate"), None);
            for p in HookPoint::ALL.into_iter().filter(|p| p.in_emqx()) {
                assert_eq!(v.parse_hook(v.hook_name(p)), Some(p));
            }
        }
    }
}
