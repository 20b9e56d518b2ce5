//! Held acknowledgements (issue 13) with a native handler, observed on the wire by in-memory
//! clients: the message is routed at once while the publisher's PUBACK / PUBREC waits for the
//! handler's `confirm` or its deadline (`ignore`: success; `deny`: 0x80, MQTT 3.x: the
//! connection closes), later acknowledgements of the same connection wait behind it, a QoS 2
//! retransmission gets no second PUBREC, and a hold ends with its publisher.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{TestClient, broker_with, connect, publish_packet};
use hookmq_broker::Broker;
use hookmq_codec::{Packet, PacketId, Protocol, PubAck, QoS, ReasonCode};
use hookmq_hooks::*;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Bound of every wait for something that must happen.
const WAIT: Duration = Duration::from_secs(5);
/// How long a test watches for something that must not happen (nothing is sent meanwhile:
/// the acknowledgement is held until the test confirms).
const QUIET: Duration = Duration::from_millis(300);

/// A broker whose `message.publish` handler holds every message under `hold/` and reports its
/// id.
fn holding(
    timeout: Duration,
    failed_action: FailedAction,
    receive_maximum: u16,
) -> (Arc<Broker>, mpsc::UnboundedReceiver<MessageId>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let hooks = Arc::new(Hooks::new());
    let mut spec = HandlerSpec::new(
        "keeper",
        "native",
        vec![PointSpec::all(HookPoint::MessagePublish)],
    );
    spec.hold_timeout = timeout;
    spec.failed_action = failed_action;
    hooks
        .register(
            spec,
            handler_fn(move |e| match e {
                Event::MessagePublish { message }
                    if message.topic.as_str().starts_with("hold/") =>
                {
                    let _ = tx.send(message.id);
                    Verdict::Stop(Value::Hold(None))
                }
                _ => Verdict::Ignore,
            }),
        )
        .unwrap();
    let b = broker_with(hooks, |c| c.mqtt.receive_maximum = receive_maximum);
    (b, rx)
}

async fn held_id(rx: &mut mpsc::UnboundedReceiver<MessageId>) -> MessageId {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .unwrap()
        .unwrap()
}

/// Confirms `id` once it is held: the hold exists once the handler's answer came back and the
/// message was routed, which can be after the handler reported the id.
async fn confirm_held(services: &Arc<dyn BrokerServices>, id: MessageId, ok: bool) {
    let end = Instant::now() + WAIT;
    loop {
        match services.confirm(id, ok) {
            Ok(()) => return,
            Err(ServiceError::NotHeld(_)) if Instant::now() < end => {
                tokio::time::sleep(Duration::from_millis(5)).await
            }
            Err(e) => panic!("{e}"),
        }
    }
}

fn pid(n: u16) -> PacketId {
    PacketId::new(n).unwrap()
}

#[tokio::test]
async fn the_puback_waits_for_the_confirmation_and_later_acks_wait_behind_it() {
    let (b, mut ids) = holding(Duration::from_secs(60), FailedAction::Deny, 32);
    let services = b.services();
    let (mut sub, _) = TestClient::connect(&b, connect(Protocol::V5, "sub")).await;
    sub.subscribe("#", QoS::AtMostOnce).await;
    let (mut p, _) = TestClient::connect(&b, connect(Protocol::V5, "pub")).await;

    p.send(publish_packet("hold/1", QoS::AtLeastOnce, 1)).await;
    let id = held_id(&mut ids).await;
    p.send(publish_packet("plain/2", QoS::AtLeastOnce, 2)).await;
    // Routed at once, both of them ...
    for topic in ["hold/1", "plain/2"] {
        match sub.recv_within(WAIT).await {
            Some(Packet::Publish(m)) => assert_eq!(&*m.topic, topic),
            other => panic!("{other:?}"),
        }
    }
    // ... but neither is acknowledged while the first is held.
    assert_eq!(p.recv_within(QUIET).await, None);
    assert_eq!(
        services.confirm(MessageId(id.0 ^ 1), true),
        Err(ServiceError::NotHeld(MessageId(id.0 ^ 1)))
    );
    confirm_held(&services, id, true).await;
    for n in [1, 2] {
        match p.recv_within(WAIT).await {
            Some(Packet::PubAck(a)) => {
                assert_eq!((a.packet_id, a.reason), (pid(n), ReasonCode::SUCCESS))
            }
            other => panic!("{other:?}"),
        }
    }
    // One release per hold: a second confirmation is refused and sends nothing.
    assert_eq!(services.confirm(id, false), Err(ServiceError::NotHeld(id)));
    assert_eq!(p.recv_within(QUIET).await, None);

    // A failure confirmation is 0x80 Unspecified error.
    p.send(publish_packet("hold/3", QoS::AtLeastOnce, 3)).await;
    confirm_held(&services, held_id(&mut ids).await, false).await;
    match p.recv_within(WAIT).await {
        Some(Packet::PubAck(a)) => {
            assert_eq!(
                (a.packet_id, a.reason),
                (pid(3), ReasonCode::UNSPECIFIED_ERROR)
            )
        }
        other => panic!("{other:?}"),
    }

    // QoS 0 has nothing to hold: routed, nothing to confirm.
    p.send(publish_packet("hold/4", QoS::AtMostOnce, 0)).await;
    let id = held_id(&mut ids).await;
    assert!(matches!(
        sub.recv_within(WAIT).await,
        Some(Packet::Publish(_))
    ));
    assert_eq!(services.confirm(id, true), Err(ServiceError::NotHeld(id)));
}

#[tokio::test(start_paused = true)]
async fn at_the_deadline_ignore_acknowledges_and_deny_refuses() {
    for (policy, reason) in [
        (FailedAction::Ignore, ReasonCode::NO_MATCHING_SUBSCRIBERS),
        (FailedAction::Deny, ReasonCode::UNSPECIFIED_ERROR),
    ] {
        let (b, mut ids) = holding(Duration::from_secs(3), policy, 32);
        let (mut p, _) = TestClient::connect(&b, connect(Protocol::V5, "pub")).await;
        p.send(publish_packet("hold/1", QoS::AtLeastOnce, 1)).await;
        let id = held_id(&mut ids).await;
        let t0 = Instant::now();
        match p.recv().await {
            Some(Packet::PubAck(a)) => assert_eq!((a.packet_id, a.reason), (pid(1), reason)),
            other => panic!("{policy:?}: {other:?}"),
        }
        assert_eq!(t0.elapsed(), Duration::from_secs(3), "{policy:?}");
        // Past the deadline the hold is gone: a late confirmation is refused.
        assert_eq!(
            b.services().confirm(id, true),
            Err(ServiceError::NotHeld(id))
        );
    }
}

#[tokio::test(start_paused = true)]
async fn mqtt3_has_no_negative_puback_so_a_refused_hold_closes_the_connection() {
    let (b, mut ids) = holding(Duration::from_secs(3), FailedAction::Deny, 32);
    let (mut p, _) = TestClient::connect(&b, connect(Protocol::V3_1_1, "pub3")).await;
    p.send(publish_packet("hold/1", QoS::AtLeastOnce, 1)).await;
    held_id(&mut ids).await;
    // No PUBACK at all: the connection closes at the deadline, and the client will resend.
    assert_eq!(p.recv().await, None);

    // A confirmed hold is a plain PUBACK.
    let (mut p, _) = TestClient::connect(&b, connect(Protocol::V3_1_1, "pub3")).await;
    p.send(publish_packet("hold/1", QoS::AtLeastOnce, 1)).await;
    confirm_held(&b.services(), held_id(&mut ids).await, true).await;
    match p.recv().await {
        Some(Packet::PubAck(a)) => assert_eq!(a.packet_id, pid(1)),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_held_pubrec_keeps_exactly_once() {
    let (b, mut ids) = holding(Duration::from_secs(60), FailedAction::Deny, 32);
    let services = b.services();
    let (mut sub, _) = TestClient::connect(&b, connect(Protocol::V5, "sub")).await;
    sub.subscribe("#", QoS::AtMostOnce).await;
    let (mut p, _) = TestClient::connect(&b, connect(Protocol::V5, "pub")).await;
    p.send(publish_packet("hold/q2", QoS::ExactlyOnce, 7)).await;
    let id = held_id(&mut ids).await;
    assert!(matches!(
        sub.recv_within(WAIT).await,
        Some(Packet::Publish(_))
    ));
    // A retransmission while the PUBREC is held: neither routed again nor acknowledged twice.
    let Packet::Publish(mut again) = publish_packet("hold/q2", QoS::ExactlyOnce, 7) else {
        unreachable!()
    };
    again.dup = true;
    p.send(Packet::Publish(again)).await;
    assert_eq!(p.recv_within(QUIET).await, None);
    confirm_held(&services, id, true).await;
    match p.recv_within(WAIT).await {
        Some(Packet::PubRec(a)) => {
            assert_eq!((a.packet_id, a.reason), (pid(7), ReasonCode::SUCCESS))
        }
        other => panic!("{other:?}"),
    }
    p.send(Packet::PubRel(PubAck::success(pid(7)))).await;
    match p.recv_within(WAIT).await {
        Some(Packet::PubComp(a)) => {
            assert_eq!((a.packet_id, a.reason), (pid(7), ReasonCode::SUCCESS))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sub.recv_within(QUIET).await, None, "routed once only");

    // A refused PUBREC ends the QoS 2 flow: the same packet id is a new message afterwards.
    p.send(publish_packet("hold/q2", QoS::ExactlyOnce, 8)).await;
    confirm_held(&services, held_id(&mut ids).await, false).await;
    match p.recv_within(WAIT).await {
        Some(Packet::PubRec(a)) => {
            assert_eq!(
                (a.packet_id, a.reason),
                (pid(8), ReasonCode::UNSPECIFIED_ERROR)
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        sub.recv_within(WAIT).await,
        Some(Packet::Publish(_))
    ));
    p.send(publish_packet("hold/q2", QoS::ExactlyOnce, 8)).await;
    confirm_held(&services, held_id(&mut ids).await, true).await;
    assert!(matches!(p.recv_within(WAIT).await, Some(Packet::PubRec(a)) if a.reason.is_success()));
    assert!(matches!(
        sub.recv_within(WAIT).await,
        Some(Packet::Publish(_))
    ));
}

#[tokio::test]
async fn held_acknowledgements_count_against_receive_maximum() {
    let (b, mut ids) = holding(Duration::from_secs(60), FailedAction::Deny, 2);
    let (mut p, _) = TestClient::connect(&b, connect(Protocol::V5, "pub")).await;
    p.send(publish_packet("hold/1", QoS::AtLeastOnce, 1)).await;
    held_id(&mut ids).await;
    p.send(publish_packet("hold/2", QoS::AtLeastOnce, 2)).await;
    held_id(&mut ids).await;
    // [MQTT-3.3.4-9] a third unacknowledged PUBLISH exceeds the Receive Maximum of 2.
    p.send(publish_packet("hold/3", QoS::AtLeastOnce, 3)).await;
    match p.recv_within(WAIT).await {
        Some(Packet::Disconnect(d)) => assert_eq!(d.reason, ReasonCode::RECEIVE_MAXIMUM_EXCEEDED),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_publisher_that_leaves_ends_its_holds_silently() {
    let (b, mut ids) = holding(Duration::from_secs(60), FailedAction::Deny, 32);
    let (mut p, _) = TestClient::connect(&b, connect(Protocol::V5, "pub")).await;
    p.send(publish_packet("hold/1", QoS::AtLeastOnce, 1)).await;
    let id = held_id(&mut ids).await;
    let held = |b: &Broker| {
        b.services()
            .metrics()
            .into_iter()
            .find(|(k, _)| k == "acks_held")
            .map(|(_, v)| v)
    };
    assert_eq!(held(&b), Some(1));
    p.drop_connection().await;
    // The connection's task ends on its own time: wait (bounded) for its hold to go.
    let end = Instant::now() + WAIT;
    while held(&b) != Some(0) {
        assert!(Instant::now() < end, "hold never released");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        b.services().confirm(id, true),
        Err(ServiceError::NotHeld(id))
    );
}
