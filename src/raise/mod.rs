//! Virtuous Raise (online giving): its webhook event types and their labels, the subscription's
//! GET-then-PUT merge, and the delivery logs as an observability source. Receiving a Raise
//! delivery is [`crate::receive`]'s, with `product: "raise"`.

pub mod event_types;
