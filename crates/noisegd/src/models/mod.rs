//! Models the method is run on. Each exposes a `forward` and the loss the paper pairs it with.

pub mod diagonal;
pub mod mlp;
