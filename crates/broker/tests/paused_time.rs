//! Timing behaviour with tokio's paused clock: keep-alive expiry, will delay, session expiry.
//! Connections are in memory, so time only moves when every task waits on a timer and the
//! durations asserted are exact.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{TestClient, broker, broker_with, connect, will};
use hookmq_codec::{Packet, Properties, Property, Protocol, QoS, ReasonCode};
use hookmq_hooks::Hooks;
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn keepalive_closes_after_one_and_a_half_periods_of_silence() {
    let b = broker(Arc::new(Hooks::new()));
    let mut c = connect(Protocol::V5, "ka");
    c.keep_alive = 10;
    let (mut client, ack) = TestClient::connect(&b, c).await;
    assert_eq!(ack.reason, ReasonCode::SUCCESS);
    let t0 = Instant::now();
    // A PINGREQ at 9 s resets the timer.
    tokio::time::sleep(Duration::from_secs(9)).await;
    client.send(Packet::PingReq).await;
    assert_eq!(client.recv().await, Some(Packet::PingResp));
    match client.recv().await {
        Some(Packet::Disconnect(d)) => assert_eq!(d.reason, ReasonCode::KEEP_ALIVE_TIMEOUT),
        other => panic!("expected DISCONNECT 0x8D, got {other:?}"),
    }
    assert_eq!(t0.elapsed(), Duration::from_secs(9 + 15));
    assert_eq!(client.recv().await, None);
}

#[tokio::test(start_paused = true)]
async fn a_delayed_will_is_sent_after_its_delay() {
    let b = broker(Arc::new(Hooks::new()));
    let (mut watcher, _) = TestClient::connect(&b, connect(Protocol::V5, "watcher")).await;
    watcher.subscribe("will/#", QoS::AtLeastOnce).await;
    let mut c = connect(Protocol::V5, "dying");
    c.properties.push(Property::SessionExpiryInterval(300));
    c.will = Some(will(
        "will/x",
        b"late",
        Properties(vec![Property::WillDelayInterval(20)]),
    ));
    let (client, _) = TestClient::connect(&b, c).await;
    let t0 = Instant::now();
    client.drop_connection().await;
    match watcher.recv().await {
        Some(Packet::Publish(p)) => assert_eq!(&p.payload[..], b"late"),
        other => panic!("{other:?}"),
    }
    assert_eq!(t0.elapsed(), Duration::from_secs(20));
}

#[tokio::test(start_paused = true)]
async fn the_will_is_sent_when_the_session_ends_before_the_will_delay() {
    let b = broker(Arc::new(Hooks::new()));
    let (mut watcher, _) = TestClient::connect(&b, connect(Protocol::V5, "watcher")).await;
    watcher.subscribe("will/#", QoS::AtLeastOnce).await;
    let mut c = connect(Protocol::V5, "dying");
    c.properties.push(Property::SessionExpiryInterval(5));
    c.will = Some(will(
        "will/x",
        b"at session end",
        Properties(vec![Property::WillDelayInterval(100)]),
    ));
    let (client, _) = TestClient::connect(&b, c).await;
    let t0 = Instant::now();
    client.drop_connection().await;
    assert!(matches!(watcher.recv().await, Some(Packet::Publish(_))));
    assert_eq!(t0.elapsed(), Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn reconnecting_within_the_will_delay_cancels_the_will() {
    let b = broker(Arc::new(Hooks::new()));
    let (mut watcher, _) = TestClient::connect(&b, connect(Protocol::V5, "watcher")).await;
    watcher.subscribe("will/#", QoS::AtLeastOnce).await;
    let mut c = connect(Protocol::V5, "dying");
    c.properties.push(Property::SessionExpiryInterval(300));
    c.will = Some(will(
        "will/x",
        b"never",
        Properties(vec![Property::WillDelayInterval(20)]),
    ));
    let (client, _) = TestClient::connect(&b, c).await;
    client.drop_connection().await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let mut again = connect(Protocol::V5, "dying");
    again.clean_start = false;
    again.properties.push(Property::SessionExpiryInterval(300));
    let (_client, ack) = TestClient::connect(&b, again).await;
    assert!(ack.session_present);
    assert_eq!(
        watcher.recv_within(Duration::from_secs(60)).await,
        None,
        "no will after reconnect"
    );
}

#[tokio::test(start_paused = true)]
async fn sessions_expire_after_their_interval_and_not_before() {
    let b = broker(Arc::new(Hooks::new()));
    for (wait, present) in [(9, true), (11, false)] {
        let id = format!("exp-{wait}");
        let mut c = connect(Protocol::V5, &id);
        c.properties.push(Property::SessionExpiryInterval(10));
        let (mut client, _) = TestClient::connect(&b, c).await;
        client.send(Packet::Disconnect(Default::default())).await;
        assert_eq!(client.recv().await, None);
        tokio::time::sleep(Duration::from_secs(wait)).await;
        let mut again = connect(Protocol::V5, &id);
        again.clean_start = false;
        again.properties.push(Property::SessionExpiryInterval(10));
        let (_c, ack) = TestClient::connect(&b, again).await;
        assert_eq!(ack.session_present, present, "after {wait}s");
    }
}

#[tokio::test(start_paused = true)]
async fn queued_messages_wait_for_a_persistent_session_until_it_expires() {
    let b = broker(Arc::new(Hooks::new()));
    let mut c = connect(Protocol::V3_1_1, "offline");
    c.clean_start = false;
    let (mut client, _) = TestClient::connect(&b, c.clone()).await;
    client.subscribe("q/#", QoS::AtLeastOnce).await;
    client.send(Packet::Disconnect(Default::default())).await;
    assert_eq!(client.recv().await, None);
    let (mut publisher, _) = TestClient::connect(&b, connect(Protocol::V3_1_1, "pub")).await;
    let p = hookmq_codec::Publish {
        dup: false,
        qos: QoS::AtLeastOnce,
        retain: false,
        topic: "q/1".into(),
        packet_id: hookmq_codec::PacketId::new(5),
        payload: bytes::Bytes::from_static(b"kept"),
        properties: Properties::default(),
    };
    publisher.send(Packet::Publish(p)).await;
    assert!(matches!(publisher.recv().await, Some(Packet::PubAck(_))));
    // An hour later (MQTT 3.1.1 sessions last session_expiry_max = 2h) the message is still there.
    tokio::time::sleep(Duration::from_secs(3600)).await;
    let (mut back, ack) = TestClient::connect(&b, c).await;
    assert!(ack.session_present);
    match back.recv().await {
        Some(Packet::Publish(p)) => assert_eq!(&p.payload[..], b"kept"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn the_publish_rate_limit_slows_a_client_down_without_losing_messages() {
    let b = broker_with(Arc::new(Hooks::new()), |c| c.mqtt.max_publish_rate = 10);
    let (mut sub, _) = TestClient::connect(&b, connect(Protocol::V5, "sub")).await;
    sub.subscribe("r/#", QoS::AtMostOnce).await;
    let (mut p, _) = TestClient::connect(&b, connect(Protocol::V5, "fast")).await;
    let t0 = Instant::now();
    for i in 0..30u32 {
        let m = hookmq_codec::Publish {
            dup: false,
            qos: QoS::AtMostOnce,
            retain: false,
            topic: "r/t".into(),
            packet_id: None,
            payload: bytes::Bytes::from(i.to_string()),
            properties: Properties::default(),
        };
        p.send(Packet::Publish(m)).await;
    }
    for i in 0..30u32 {
        match sub.recv().await {
            Some(Packet::Publish(m)) => assert_eq!(m.payload, bytes::Bytes::from(i.to_string())),
            other => panic!("{other:?}"),
        }
    }
    // Ten fit the burst; the other twenty arrive at ten per second.
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(1900) && took <= Duration::from_millis(2100),
        "{took:?}"
    );
    assert!(
        b.metrics()
            .limit_hits(hookmq_broker::metrics::Limit::PublishRate)
            > 0
    );
}
