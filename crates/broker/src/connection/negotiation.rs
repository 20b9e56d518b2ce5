//! What the broker grants a CONNECT beyond the session itself: the keep alive, and how the
//! client is told about it. Sans-IO, so the rules are unit-tested; `connect.rs` applies them.

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
}
