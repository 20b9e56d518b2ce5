//! Sizing and writing of DISCONNECT and AUTH, the packets made of an optional reason code and
//! optional properties (PINGREQ and PINGRESP have no body at all).

use bytes::{BufMut, BytesMut};

use crate::error::EncodeError;
use crate::packet::Protocol;
use crate::property::Properties;
use crate::reason::ReasonCode;

use super::{Plan, props_size, put_props};

/// Sizes a DISCONNECT or (`auth`) an AUTH. 3.x DISCONNECT has no body. MQTT 5: success without
/// properties has remaining length 0 (§3.14.2.1, §3.15.2.1); a DISCONNECT with another reason and
/// no properties is one byte (§3.14.2.2.1); AUTH has no one-byte form, so it writes a property
/// length of 0 instead.
pub(super) fn plan_reason(
    reason: ReasonCode,
    props: &Properties,
    protocol: Protocol,
    auth: bool,
) -> Result<Plan, EncodeError> {
    if !protocol.is_v5() || (reason == ReasonCode::SUCCESS && props.is_empty()) {
        return Ok(Plan::default());
    }
    if props.is_empty() && !auth {
        return Ok(Plan {
            remaining: 1,
            reason: true,
            ..Plan::default()
        });
    }
    let (size, props) = props_size(props, protocol)?;
    Ok(Plan {
        remaining: 1 + size,
        props,
        will_props: None,
        reason: true,
    })
}

/// Writes a DISCONNECT or AUTH sized by [`plan_reason`].
pub(super) fn write_reason(
    reason: ReasonCode,
    props: &Properties,
    plan: &Plan,
    buf: &mut BytesMut,
) {
    if plan.reason {
        buf.put_u8(reason.0);
    }
    put_props(buf, props, plan.props);
}
