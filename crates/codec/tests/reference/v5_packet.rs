//! Conversion of our MQTT 5 packets into `mqtt_proto::v5::Packet`.

use super::*;

fn ack_props(p: &Properties) -> (Option<Arc<str>>, Vec<v5::UserProperty>) {
    let b = bag(p);
    (b.reason_string, b.users)
}

/// Our MQTT 5 packet as an `mqtt_proto::v5::Packet`.
pub fn to_v5(p: &Packet) -> v5::Packet {
    match p {
        Packet::Connect(c) => {
            let b = bag(&c.properties);
            v5::Packet::Connect(v5::Connect {
                protocol: protocol(c.protocol),
                clean_start: c.clean_start,
                keep_alive: c.keep_alive,
                properties: v5::ConnectProperties {
                    session_expiry_interval: b.session_expiry,
                    receive_max: b.receive_max,
                    max_packet_size: b.max_packet_size,
                    topic_alias_max: b.topic_alias_max,
                    request_response_info: b.response_info_req,
                    request_problem_info: b.problem_info,
                    user_properties: b.users,
                    auth_method: b.auth_method,
                    auth_data: b.auth_data,
                },
                client_id: arc(&c.client_id),
                last_will: c.will.as_ref().map(|w| {
                    let b = bag(&w.properties);
                    v5::LastWill {
                        qos: qos(w.qos),
                        retain: w.retain,
                        topic_name: topic(w.topic.as_str()),
                        payload: w.payload.clone(),
                        properties: v5::WillProperties {
                            delay_interval: b.will_delay,
                            payload_is_utf8: b.payload_is_utf8,
                            message_expiry_interval: b.message_expiry,
                            content_type: b.content_type,
                            response_topic: b.response_topic,
                            correlation_data: b.correlation,
                            user_properties: b.users,
                        },
                    }
                }),
                username: c.username.as_deref().map(arc),
                password: c.password.clone(),
            })
        }
        Packet::ConnAck(a) => {
            let b = bag(&a.properties);
            v5::Packet::Connack(v5::Connack {
                session_present: a.session_present,
                reason_code: v5::ConnectReasonCode::from_u8(a.reason.0).unwrap(),
                properties: v5::ConnackProperties {
                    session_expiry_interval: b.session_expiry,
                    receive_max: b.receive_max,
                    max_qos: b.max_qos,
                    retain_available: b.retain_available,
                    max_packet_size: b.max_packet_size,
                    assigned_client_id: b.assigned_id,
                    topic_alias_max: b.topic_alias_max,
                    reason_string: b.reason_string,
                    user_properties: b.users,
                    wildcard_subscription_available: b.wildcard,
                    subscription_id_available: b.sub_ids,
                    shared_subscription_available: b.shared,
                    server_keep_alive: b.server_keep_alive,
                    response_info: b.response_info,
                    server_reference: b.server_reference,
                    auth_method: b.auth_method,
                    auth_data: b.auth_data,
                },
            })
        }
        Packet::Publish(p) => {
            let b = bag(&p.properties);
            v5::Packet::Publish(v5::Publish {
                dup: p.dup,
                retain: p.retain,
                qos_pid: qos_pid(p.qos, p.packet_id),
                topic_name: topic(&p.topic),
                payload: p.payload.clone(),
                properties: v5::PublishProperties {
                    payload_is_utf8: b.payload_is_utf8,
                    message_expiry_interval: b.message_expiry,
                    topic_alias: b.topic_alias,
                    response_topic: b.response_topic,
                    correlation_data: b.correlation,
                    user_properties: b.users,
                    subscription_id: b.subscription_id,
                    content_type: b.content_type,
                },
            })
        }
        Packet::PubAck(a) => {
            let (reason_string, user_properties) = ack_props(&a.properties);
            v5::Packet::Puback(v5::Puback {
                pid: pid(a.packet_id),
                reason_code: v5::PubackReasonCode::from_u8(a.reason.0).unwrap(),
                properties: v5::PubackProperties {
                    reason_string,
                    user_properties,
                },
            })
        }
        Packet::PubRec(a) => {
            let (reason_string, user_properties) = ack_props(&a.properties);
            v5::Packet::Pubrec(v5::Pubrec {
                pid: pid(a.packet_id),
                reason_code: v5::PubrecReasonCode::from_u8(a.reason.0).unwrap(),
                properties: v5::PubrecProperties {
                    reason_string,
                    user_properties,
                },
            })
        }
        Packet::PubRel(a) => {
            let (reason_string, user_properties) = ack_props(&a.properties);
            v5::Packet::Pubrel(v5::Pubrel {
                pid: pid(a.packet_id),
                reason_code: v5::PubrelReasonCode::from_u8(a.reason.0).unwrap(),
                properties: v5::PubrelProperties {
                    reason_string,
                    user_properties,
                },
            })
        }
        Packet::PubComp(a) => {
            let (reason_string, user_properties) = ack_props(&a.properties);
            v5::Packet::Pubcomp(v5::Pubcomp {
                pid: pid(a.packet_id),
                reason_code: v5::PubcompReasonCode::from_u8(a.reason.0).unwrap(),
                properties: v5::PubcompProperties {
                    reason_string,
                    user_properties,
                },
            })
        }
        Packet::Subscribe(s) => {
            let b = bag(&s.properties);
            v5::Packet::Subscribe(v5::Subscribe {
                pid: pid(s.packet_id),
                properties: v5::SubscribeProperties {
                    subscription_id: b.subscription_id,
                    user_properties: b.users,
                },
                topics: s
                    .filters
                    .iter()
                    .map(|(f, o)| {
                        let opts = v5::SubscriptionOptions {
                            max_qos: qos(o.qos),
                            no_local: o.no_local,
                            retain_as_published: o.retain_as_published,
                            retain_handling: retain_handling(o.retain_handling),
                        };
                        (filter(f.as_str()), opts)
                    })
                    .collect(),
            })
        }
        Packet::SubAck(s) => {
            let (reason_string, user_properties) = ack_props(&s.properties);
            v5::Packet::Suback(v5::Suback {
                pid: pid(s.packet_id),
                properties: v5::SubackProperties {
                    reason_string,
                    user_properties,
                },
                topics: s
                    .reasons
                    .iter()
                    .map(|r| v5::SubscribeReasonCode::from_u8(r.0).unwrap())
                    .collect(),
            })
        }
        Packet::Unsubscribe(u) => v5::Packet::Unsubscribe(v5::Unsubscribe {
            pid: pid(u.packet_id),
            properties: v5::UnsubscribeProperties {
                user_properties: bag(&u.properties).users,
            },
            topics: u.filters.iter().map(|f| filter(f.as_str())).collect(),
        }),
        Packet::UnsubAck(u) => {
            let (reason_string, user_properties) = ack_props(&u.properties);
            v5::Packet::Unsuback(v5::Unsuback {
                pid: pid(u.packet_id),
                properties: v5::UnsubackProperties {
                    reason_string,
                    user_properties,
                },
                topics: u
                    .reasons
                    .iter()
                    .map(|r| v5::UnsubscribeReasonCode::from_u8(r.0).unwrap())
                    .collect(),
            })
        }
        Packet::PingReq => v5::Packet::Pingreq,
        Packet::PingResp => v5::Packet::Pingresp,
        Packet::Disconnect(d) => {
            let b = bag(&d.properties);
            v5::Packet::Disconnect(v5::Disconnect {
                reason_code: v5::DisconnectReasonCode::from_u8(d.reason.0).unwrap(),
                properties: v5::DisconnectProperties {
                    session_expiry_interval: b.session_expiry,
                    reason_string: b.reason_string,
                    user_properties: b.users,
                    server_reference: b.server_reference,
                },
            })
        }
        Packet::Auth(a) => {
            let b = bag(&a.properties);
            v5::Packet::Auth(v5::Auth {
                reason_code: v5::AuthReasonCode::from_u8(a.reason.0).unwrap(),
                properties: v5::AuthProperties {
                    auth_method: b.auth_method,
                    auth_data: b.auth_data,
                    reason_string: b.reason_string,
                    user_properties: b.users,
                },
            })
        }
    }
}
