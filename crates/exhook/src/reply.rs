//! Replies to verdicts: a `ValuedResponse` becomes the [`Verdict`] the hook registry folds
//! (CONTINUE → continue with the value, IGNORE → ignore, STOP_AND_RETURN → stop with the value);
//! a value of the wrong kind is logged and ignored; a `message.publish` reply is copied onto the
//! original message (topic, payload, QoS) or drops it (`headers["allow_publish"] = "false"`).

use std::sync::Arc;

use hookmq_codec::{QoS, TopicName};
use hookmq_hooks::{Event, HookError, HookPoint, Message, Value, Verdict};

use crate::proto::v3::{
    self as pb, valued_response::ResponsedType, valued_response::Value as Reply,
};

/// The verdict for a `ValuedResponse` to `event`. A message that cannot be routed (invalid topic
/// name, QoS above 2) is a bad reply, which the registry treats as a failed call.
pub(crate) fn verdict(event: &Event, resp: pb::ValuedResponse) -> Result<Verdict, HookError> {
    let point = event.point();
    let kind = match ResponsedType::try_from(resp.r#type) {
        Ok(k) => k,
        Err(_) => {
            tracing::debug!(hook = %point, value = resp.r#type, "unknown ValuedResponse type; ignored");
            return Ok(Verdict::Ignore);
        }
    };
    let stop = match kind {
        ResponsedType::Ignore => return Ok(Verdict::Ignore),
        ResponsedType::Continue => false,
        ResponsedType::StopAndReturn => true,
    };
    let value = match (point, resp.value, event) {
        (
            HookPoint::ClientAuthenticate | HookPoint::ClientAuthorize,
            Some(Reply::BoolResult(b)),
            _,
        ) => Value::Allow(b),
        (HookPoint::MessagePublish, Some(Reply::Message(m)), Event::MessagePublish { message }) => {
            rewrite(message, m)?
        }
        (_, value, _) => {
            let got = match value {
                None => "no value",
                Some(Reply::BoolResult(_)) => "bool_result",
                Some(Reply::Message(_)) => "message",
            };
            tracing::debug!(hook = %point, ?kind, got, "ValuedResponse value does not fit the hook; ignored");
            return Ok(Verdict::Ignore);
        }
    };
    Ok(if stop {
        Verdict::Stop(value)
    } else {
        Verdict::Continue(value)
    })
}

/// Applies a returned message to the original: `allow_publish = "false"` drops it; otherwise
/// topic, payload and QoS are taken from the reply and everything else is kept.
fn rewrite(original: &Arc<Message>, reply: pb::Message) -> Result<Value, HookError> {
    if reply.headers.get("allow_publish").map(String::as_str) == Some("false") {
        return Ok(Value::Drop);
    }
    let qos = u8::try_from(reply.qos)
        .ok()
        .and_then(QoS::from_u8)
        .ok_or_else(|| {
            HookError::BadReply(format!("message qos {} is not 0, 1 or 2", reply.qos))
        })?;
    if original.topic.as_str() == reply.topic
        && original.payload == reply.payload
        && original.qos == qos
    {
        return Ok(Value::Message(original.clone()));
    }
    let topic = TopicName::new(reply.topic.clone()).map_err(|e| {
        HookError::BadReply(format!(
            "message topic {:?} is not a topic name: {e}",
            reply.topic
        ))
    })?;
    let mut message = Message::clone(original);
    message.topic = topic;
    message.payload = reply.payload;
    message.qos = qos;
    Ok(Value::Message(Arc::new(message)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_events;

    fn resp(kind: ResponsedType, value: Option<Reply>) -> pb::ValuedResponse {
        pb::ValuedResponse {
            r#type: kind as i32,
            value,
        }
    }

    #[test]
    fn bool_results_map_to_allow_for_authenticate_and_authorize() {
        for event in [test_events::authenticate(), test_events::authorize()] {
            let v = |k, b| verdict(&event, resp(k, Some(Reply::BoolResult(b)))).unwrap();
            assert_eq!(
                v(ResponsedType::StopAndReturn, true),
                Verdict::Stop(Value::Allow(true))
            );
            assert_eq!(
                v(ResponsedType::StopAndReturn, false),
                Verdict::Stop(Value::Allow(false))
            );
            assert_eq!(
                v(ResponsedType::Continue, false),
                Verdict::Continue(Value::Allow(false))
            );
            assert_eq!(v(ResponsedType::Ignore, false), Verdict::Ignore);
        }
    }

    #[test]
    fn a_value_of_the_wrong_kind_or_none_is_ignore() {
        let auth = test_events::authenticate();
        let publish = test_events::publish();
        let msg = Some(Reply::Message(pb::Message::default()));
        assert_eq!(
            verdict(&auth, resp(ResponsedType::Continue, None)).unwrap(),
            Verdict::Ignore
        );
        assert_eq!(
            verdict(&auth, resp(ResponsedType::StopAndReturn, msg)).unwrap(),
            Verdict::Ignore
        );
        assert_eq!(
            verdict(
                &publish,
                resp(ResponsedType::StopAndReturn, Some(Reply::BoolResult(true)))
            )
            .unwrap(),
            Verdict::Ignore
        );
        assert_eq!(
            verdict(&publish, resp(ResponsedType::Continue, None)).unwrap(),
            Verdict::Ignore
        );
        let unknown = pb::ValuedResponse {
            r#type: 7,
            value: Some(Reply::BoolResult(true)),
        };
        assert_eq!(verdict(&auth, unknown).unwrap(), Verdict::Ignore);
    }

    fn echoed(event: &Event) -> pb::Message {
        let Event::MessagePublish { message } = event else {
            unreachable!()
        };
        pb::Message {
            topic: message.topic.as_str().into(),
            payload: message.payload.clone(),
            qos: u32::from(message.qos.as_u8()),
            ..Default::default()
        }
    }

    #[test]
    fn an_unchanged_message_keeps_the_original() {
        let event = test_events::publish();
        let Event::MessagePublish { message } = &event else {
            unreachable!()
        };
        let v = verdict(
            &event,
            resp(
                ResponsedType::Continue,
                Some(Reply::Message(echoed(&event))),
            ),
        )
        .unwrap();
        let Verdict::Continue(Value::Message(m)) = v else {
            panic!("{v:?}")
        };
        assert!(Arc::ptr_eq(&m, message));
    }

    #[test]
    fn topic_payload_and_qos_are_copied_back_and_the_rest_kept() {
        let event = test_events::publish();
        let Event::MessagePublish { message } = &event else {
            unreachable!()
        };
        let mut reply = echoed(&event);
        reply.topic = "rewritten/x".into();
        reply.payload = bytes::Bytes::from_static(b"new");
        reply.qos = 2;
        reply.from = "someone-else".into();
        reply.id = "0".into();
        let v = verdict(
            &event,
            resp(ResponsedType::StopAndReturn, Some(Reply::Message(reply))),
        )
        .unwrap();
        let Verdict::Stop(Value::Message(m)) = v else {
            panic!("{v:?}")
        };
        assert_eq!(m.topic.as_str(), "rewritten/x");
        assert_eq!(&m.payload[..], b"new");
        assert_eq!(m.qos, QoS::ExactlyOnce);
        assert_eq!(
            (m.id, &m.from, m.retain),
            (message.id, &message.from, message.retain)
        );
        assert_eq!(m.properties, message.properties);
        assert_eq!(m.headers, message.headers);
    }

    #[test]
    fn allow_publish_false_drops_and_invalid_messages_are_bad_replies() {
        let event = test_events::publish();
        let mut reply = echoed(&event);
        reply.headers.insert("allow_publish".into(), "false".into());
        for kind in [ResponsedType::Continue, ResponsedType::StopAndReturn] {
            let v = verdict(&event, resp(kind, Some(Reply::Message(reply.clone())))).unwrap();
            assert!(
                matches!(
                    v,
                    Verdict::Continue(Value::Drop) | Verdict::Stop(Value::Drop)
                ),
                "{v:?}"
            );
        }
        reply.headers.insert("allow_publish".into(), "true".into());
        assert!(matches!(
            verdict(
                &event,
                resp(ResponsedType::Continue, Some(Reply::Message(reply.clone())))
            )
            .unwrap(),
            Verdict::Continue(Value::Message(_))
        ));
        for (topic, qos) in [("a/+/b", 0), ("", 0), ("a/#", 1), ("ok", 3)] {
            let mut bad = echoed(&event);
            bad.topic = topic.into();
            bad.qos = qos;
            let e = verdict(
                &event,
                resp(ResponsedType::Continue, Some(Reply::Message(bad))),
            )
            .unwrap_err();
            assert!(matches!(e, HookError::BadReply(_)), "{topic} {qos}: {e:?}");
        }
    }
}
