//! What the broker grants a CONNECT beyond the session itself: the keep alive, and how the
//! client is told about it, and how an authentication handler's CONNACK terms
//! (`hookmq_hooks::ConnackTerms`) change what was negotiated: an override only ever tightens
//! what the configuration allows. Sans-IO, so the rules are unit-tested; `connect.rs` applies
//! them.

use hookmq_codec::{Protocol, ReasonCode};

/// The keep alive a connection runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct KeepAlive {
    /// Seconds; 0 turns the check off.
    pub(super) seconds: u16,
    /// Tell the client (MQTT 5 Server Keep Alive): it differs from what the client asked.
    pub(super) announce: bool,
}

/// The keep alive for a client that asked for `requested` seconds, under `server_keepalive`
/// (imposed) and `max_keepalive` (a ceiling). An MQTT 5 client is told the value it must use
/// ([MQTT-3.2.2-21]); an MQTT 3.x client cannot be told, so its own value stands or, above the
/// ceiling (or 0, no keep alive at all), it is refused: silently changing it would close a
/// well-behaved client for idling, or keep a dead one for too long.
pub(super) fn keep_alive(
    protocol: Protocol,
    requested: u16,
    server_keepalive: Option<u16>,
    max_keepalive: Option<u16>,
) -> Result<KeepAlive, ReasonCode> {
    let own = KeepAlive {
        seconds: requested,
        announce: false,
    };
    let told = |seconds| KeepAlive {
        seconds,
        announce: true,
    };
    if protocol.is_v5() {
        return Ok(match (server_keepalive, max_keepalive) {
            (Some(s), _) => told(s),
            (None, Some(m)) if requested == 0 || requested > m => told(m),
            _ => own,
        });
    }
    // Server Keep Alive 0 means no keep alive from the broker's side: no ceiling for 3.x.
    let ceiling = [server_keepalive.filter(|s| *s > 0), max_keepalive]
        .into_iter()
        .flatten()
        .min();
    match ceiling {
        // Mosquitto answers the same (return code 2) for a keep alive above its max_keepalive.
        Some(c) if requested == 0 || requested > c => Err(ReasonCode::CLIENT_IDENTIFIER_NOT_VALID),
        _ => Ok(own),
    }
}

/// The session expiry after a handler's override: an MQTT 5 client's request is replaced (the
/// client is told, MQTT 5.0 §3.2.2.3.2), never above `max`; an MQTT 3.x client cannot be
/// told, so its session may only be shortened (a clean session never becomes persistent).
pub(super) fn session_expiry(
    protocol: Protocol,
    negotiated: u32,
    overridden: Option<u32>,
    max: u32,
) -> u32 {
    match overridden {
        None => negotiated,
        Some(o) if protocol.is_v5() => o.min(max),
        Some(o) => o.min(negotiated),
    }
}

/// The keep alive after a handler's override. An MQTT 5 client is told the value
/// ([MQTT-3.2.2-21]), capped like the client's own by `server_keepalive` (when not 0) and
/// `max_keepalive`, and 0 (no keep alive) only where neither caps it. An MQTT 3.x client cannot
/// be told: its keep alive stands (as in [`keep_alive`]).
pub(super) fn keep_alive_override(
    protocol: Protocol,
    negotiated: KeepAlive,
    overridden: Option<u16>,
    server_keepalive: Option<u16>,
    max_keepalive: Option<u16>,
) -> KeepAlive {
    let Some(o) = overridden.filter(|_| protocol.is_v5()) else {
        return negotiated;
    };
    let ceiling = [server_keepalive.filter(|s| *s > 0), max_keepalive]
        .into_iter()
        .flatten()
        .min();
    let seconds = match ceiling {
        Some(c) if o == 0 || o > c => c,
        _ => o,
    };
    KeepAlive {
        seconds,
        announce: true,
    }
}

/// Maximum QoS after a handler's override: never above the configured `max_qos`.
pub(super) fn maximum_qos(configured: u8, overridden: Option<u8>) -> u8 {
    overridden.map_or(configured, |o| o.min(configured))
}

/// Receive Maximum after a handler's override: never above the configured one (and never 0,
/// which `hookmq_hooks::check_connack_terms` refused already).
pub(super) fn receive_maximum(configured: u16, overridden: Option<u16>) -> u16 {
    overridden.map_or(configured, |o| o.clamp(1, configured.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ka(seconds: u16, announce: bool) -> Result<KeepAlive, ReasonCode> {
        Ok(KeepAlive { seconds, announce })
    }

    #[test]
    fn mqtt5_clients_are_told_the_imposed_or_capped_keep_alive() {
        let v5 = Protocol::V5;
        assert_eq!(keep_alive(v5, 30, None, None), ka(30, false));
        assert_eq!(keep_alive(v5, 0, None, None), ka(0, false));
        assert_eq!(keep_alive(v5, 30, Some(60), None), ka(60, true));
        assert_eq!(keep_alive(v5, 30, Some(60), Some(100)), ka(60, true));
        assert_eq!(keep_alive(v5, 300, None, Some(100)), ka(100, true));
        assert_eq!(keep_alive(v5, 0, None, Some(100)), ka(100, true));
        assert_eq!(keep_alive(v5, 100, None, Some(100)), ka(100, false));
    }

    #[test]
    fn mqtt3_clients_keep_their_own_keep_alive_or_are_refused_never_raised() {
        let refused = Err(ReasonCode::CLIENT_IDENTIFIER_NOT_VALID);
        for v3 in [Protocol::V3_1, Protocol::V3_1_1] {
            assert_eq!(keep_alive(v3, 5, Some(60), None), ka(5, false));
            assert_eq!(keep_alive(v3, 60, Some(60), None), ka(60, false));
            assert_eq!(keep_alive(v3, 61, Some(60), None), refused);
            assert_eq!(keep_alive(v3, 0, Some(60), None), refused);
            assert_eq!(keep_alive(v3, 90, Some(60), Some(100)), refused);
            assert_eq!(keep_alive(v3, 90, None, Some(100)), ka(90, false));
            assert_eq!(keep_alive(v3, 0, None, Some(100)), refused);
            assert_eq!(keep_alive(v3, 0, Some(0), None), ka(0, false));
            assert_eq!(keep_alive(v3, 0, None, None), ka(0, false));
        }
    }

    #[test]
    fn overrides_only_tighten_what_the_configuration_allows() {
        let (v5, v3) = (Protocol::V5, Protocol::V3_1_1);
        // Session expiry: replaced for MQTT 5 up to the maximum; only shortened for 3.x.
        assert_eq!(session_expiry(v5, 100, None, 1000), 100);
        assert_eq!(session_expiry(v5, 100, Some(50), 1000), 50);
        assert_eq!(session_expiry(v5, 0, Some(500), 1000), 500);
        assert_eq!(session_expiry(v5, 100, Some(5000), 1000), 1000);
        assert_eq!(session_expiry(v3, 0, Some(500), 1000), 0);
        assert_eq!(session_expiry(v3, 1000, Some(60), 1000), 60);
        // Keep alive: told to MQTT 5 clients within the ceiling; 3.x keeps its own.
        let own = KeepAlive {
            seconds: 30,
            announce: false,
        };
        assert_eq!(keep_alive_override(v5, own, None, None, None), own);
        assert_eq!(
            keep_alive_override(v5, own, Some(10), None, Some(100)),
            KeepAlive {
                seconds: 10,
                announce: true
            }
        );
        assert_eq!(
            keep_alive_override(v5, own, Some(500), Some(60), Some(100)).seconds,
            60
        );
        assert_eq!(
            keep_alive_override(v5, own, Some(0), None, Some(100)).seconds,
            100
        );
        assert_eq!(keep_alive_override(v5, own, Some(0), None, None).seconds, 0);
        assert_eq!(keep_alive_override(v3, own, Some(10), None, None), own);
        // Maximum QoS and Receive Maximum: never above the configuration.
        assert_eq!(maximum_qos(2, Some(1)), 1);
        assert_eq!(maximum_qos(1, Some(2)), 1);
        assert_eq!(maximum_qos(1, None), 1);
        assert_eq!(receive_maximum(100, Some(10)), 10);
        assert_eq!(receive_maximum(100, Some(1000)), 100);
        assert_eq!(receive_maximum(100, None), 100);
    }
}
