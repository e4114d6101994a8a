//! The steps of a chunk, one per phase: each reads the state, talks to the client, and
//! records what happened through the recorder; what an answer means is decided in
//! [`crate::decide`].

pub mod baseline;
pub mod mend;
pub mod settle;
pub mod start;
pub mod upload;
pub mod wait;
pub mod zone;
