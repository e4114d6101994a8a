//! The steps of a chunk, one per phase: each reads the state, talks to the client, and
//! records what happened through [`crate::run::Ctx::record`].

pub mod mend;
pub mod settle;
pub mod start;
pub mod upload;
pub mod wait;
