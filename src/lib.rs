//! question-insights: finds the questions a Discord community asked and groups them into
//! ranked clusters. Pure Rust stages (classify, embed, dedupe, cluster, …) with one thin napi
//! binding module (`binding`) that converts types and spawns the work off the JS thread.

#![deny(clippy::all)]

pub mod asks;
pub mod classify;
pub mod cluster;
pub mod compute;
pub mod conversations;
pub mod dedupe;
pub mod embed;
pub mod error;
pub mod extract;
pub mod grouping;
pub mod input;
pub mod js;
pub mod models;
pub mod pipeline;
pub mod prose;
pub mod similarity;

#[cfg(feature = "node")]
pub mod binding;
