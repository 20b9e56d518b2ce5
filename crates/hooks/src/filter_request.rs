//! One filter of a SUBSCRIBE as `client.subscribe` handlers answer it: kept, rewritten (filter,
//! QoS, options) or refused with a SUBACK reason code. The broker subscribes what is left,
//! through its own checks and `client.authorize`, and answers one SUBACK code per filter in the
//! packet's order ([MQTT-3.9.3-1]).

use hookmq_codec::{ReasonCode, SubscriptionOptions, TopicFilter};

/// One requested subscription after the handlers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterRequest {
    /// The filter to subscribe (the packet's, or a handler's rewrite).
    pub filter: TopicFilter,
    /// Its options (QoS, No Local, Retain As Published, Retain Handling).
    pub options: SubscriptionOptions,
    /// Set when a handler refused the filter: the SUBACK code for it (one of
    /// [`crate::suback_refusal`]'s; MQTT 3.1.1 clients get 0x80).
    pub refused: Option<ReasonCode>,
}

impl FilterRequest {
    /// The filter as the packet asked for it.
    pub fn new(filter: TopicFilter, options: SubscriptionOptions) -> FilterRequest {
        FilterRequest {
            filter,
            options,
            refused: None,
        }
    }

    /// The same filter refused with `code`.
    pub fn refuse(mut self, code: ReasonCode) -> FilterRequest {
        self.refused = Some(code);
        self
    }
}
