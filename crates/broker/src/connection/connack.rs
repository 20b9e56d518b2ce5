//! What a CONNACK carries besides its reason code, for `connect.rs`: the properties of a
//! refusal (a redirection's Server Reference, a handler's Reason String and User Properties),
//! the texts of an authentication handler's [`ConnackTerms`] on success, the broker's own rules
//! for a client id a handler assigns, and the trimming that keeps a CONNACK within the client's
//! Maximum Packet Size.

use bytestring::ByteString;
use hookmq_codec::{ConnAck, Packet, Properties, Property, Protocol};
use hookmq_hooks::{ConnackTerms, Identity, Redirect, Refusal, RightError, UserProperty};

use crate::shared::Shared;

/// CONNACK properties of a refusal for an MQTT 5 client: the Server Reference of a
/// redirection, and the Reason String and User Properties a handler refused with (3.x clients
/// only learn the return code).
pub(super) fn refusal_properties(
    protocol: Protocol,
    redirect: Option<&Redirect>,
    refusal: Option<&Refusal>,
) -> Properties {
    let mut props = Properties::default();
    if !protocol.is_v5() {
        return props;
    }
    if let Some(r) = redirect {
        props.push(Property::ServerReference(r.server_reference.clone()));
    }
    if let Some(r) = refusal {
        push_text(&mut props, r.reason_string.as_ref(), &r.user_properties);
    }
    props
}

/// Adds a handler's Reason String and User Properties to an MQTT 5 success CONNACK.
pub(super) fn push_terms(props: &mut Properties, terms: &ConnackTerms) {
    push_text(props, terms.reason_string.as_ref(), &terms.user_properties);
}

fn push_text(props: &mut Properties, reason_string: Option<&ByteString>, users: &[UserProperty]) {
    if let Some(text) = reason_string {
        props.push(Property::ReasonString(text.clone()));
    }
    for u in users {
        props.push(Property::UserProperty(u.name.clone(), u.value.clone()));
    }
}

/// Keeps a CONNACK within the client's Maximum Packet Size: its User Properties go first
/// ([MQTT-3.2.2-20]), then its Reason String ([MQTT-3.2.2-19]); what remains is what the
/// protocol needs and always fits the smallest size a client may announce.
pub(super) fn fit(ack: &mut ConnAck, protocol: Protocol, client_max: u32) {
    let too_big = |ack: &ConnAck| {
        hookmq_codec::encoded_len(&Packet::ConnAck(ack.clone()), protocol)
            .is_ok_and(|n| n > client_max as usize)
    };
    if !too_big(ack) {
        return;
    }
    tracing::debug!(client_max, "CONNACK above the client's maximum packet size");
    ack.properties
        .0
        .retain(|p| !matches!(p, Property::UserProperty(..)));
    if too_big(ack) {
        ack.properties
            .0
            .retain(|p| !matches!(p, Property::ReasonString(_)));
    }
}

/// The broker's rules for a client id a handler assigns to a client of `identity`, beyond its
/// form: no longer than `mqtt.max_clientid_len`, and not the id of a session another identity
/// holds here. A client choosing that id would be resumed under `session.owner_change`; a
/// handler handing it out is more likely confused or fed by the client (an id built from
/// its user name or a claim), so the assignment is the handler's bad reply instead. A session
/// held on another cluster node is not visible here; `owner_change` still applies when it moves.
pub(super) fn assigned_id_rules(
    shared: &Shared,
    identity: &Identity,
    id: &str,
) -> Result<(), RightError> {
    const WHAT: &str = "Assigned Client Identifier";
    let max = shared.config.mqtt.max_clientid_len;
    if id.len() > max {
        return Err(RightError::Value {
            property: WHAT,
            why: format!("{} bytes, above mqtt.max_clientid_len ({max})", id.len()),
        });
    }
    match shared.registry.owner(id) {
        Some(owner) if owner != *identity => Err(RightError::Value {
            property: WHAT,
            why: format!("{id:?} is the session of another identity"),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookmq_codec::ReasonCode;

    #[test]
    fn an_oversize_connack_loses_user_properties_then_its_reason_string() {
        let mut props = Properties::default();
        props.push(Property::ReceiveMaximum(10));
        push_terms(
            &mut props,
            &ConnackTerms {
                reason_string: Some("r".repeat(40).into()),
                user_properties: vec![UserProperty::new("k", "v".repeat(40))],
                ..ConnackTerms::default()
            },
        );
        let ack = ConnAck {
            session_present: false,
            reason: ReasonCode::SUCCESS,
            properties: props,
        };
        let len = |a: &ConnAck| {
            hookmq_codec::encoded_len(&Packet::ConnAck(a.clone()), Protocol::V5).unwrap()
        };
        let full = len(&ack);
        let mut a = ack.clone();
        fit(&mut a, Protocol::V5, full as u32);
        assert_eq!(a, ack, "a CONNACK that fits is left alone");
        fit(&mut a, Protocol::V5, full as u32 - 1);
        assert!(
            a.properties
                .0
                .iter()
                .any(|p| matches!(p, Property::ReasonString(_)))
        );
        assert!(
            !a.properties
                .0
                .iter()
                .any(|p| matches!(p, Property::UserProperty(..)))
        );
        fit(&mut a, Protocol::V5, 20);
        assert_eq!(a.properties.0, vec![Property::ReceiveMaximum(10)]);
    }

    #[test]
    fn refusal_texts_only_reach_mqtt5_clients() {
        let refusal = Refusal {
            code: ReasonCode::BANNED,
            reason_string: Some("banned until tomorrow".into()),
            user_properties: vec![UserProperty::new("until", "tomorrow")],
        };
        let v5 = refusal_properties(Protocol::V5, None, Some(&refusal));
        assert_eq!(v5.0.len(), 2);
        assert!(
            refusal_properties(Protocol::V3_1_1, None, Some(&refusal))
                .0
                .is_empty()
        );
    }
}
