//! Virtuous Raise (online giving): its webhook event types and their labels, the subscription's
//! GET-then-PUT merge, and the delivery logs as an observability source. Receiving a Raise
//! delivery is [`crate::receive`]'s, with `product: "raise"`; it imports only the event types
//! (a leaf), so the receive-only build has them without the rest.

pub mod event_types;
#[cfg(feature = "sync")]
pub mod logs;
#[cfg(feature = "sync")]
pub mod subscription;
