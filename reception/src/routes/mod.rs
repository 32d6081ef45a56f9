//! HTTP handlers, one module per area of the console.

pub mod journal;
pub mod login;
pub mod visits;
