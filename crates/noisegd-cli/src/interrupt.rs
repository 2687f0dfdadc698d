//! Ctrl-C (SIGINT) and SIGTERM: a run that can stop cleanly (`train`, `sweep`) finishes its
//! current step, writes a checkpoint and exits; anything else exits at once, as without a
//! handler. A second signal always exits at once.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);
static GRACEFUL: AtomicBool = AtomicBool::new(false);

/// Exit status of a run stopped by a signal (128 + SIGINT, the shell's convention).
pub const EXIT_INTERRUPTED: i32 = 130;

/// Installs the handler (once, at the start of `main`).
pub fn install() {
    let result = ctrlc::set_handler(|| {
        if GRACEFUL.load(Ordering::SeqCst) && !REQUESTED.swap(true, Ordering::SeqCst) {
            eprintln!("\nstopping after the current step (press Ctrl-C again to quit at once)");
        } else {
            std::process::exit(EXIT_INTERRUPTED);
        }
    });
    if let Err(e) = result {
        tracing::warn!(
            "no Ctrl-C handler ({e}); an interrupted run resumes from its last checkpoint"
        );
    }
}

/// Declares that the code running now polls [`requested`] and stops cleanly.
pub fn stop_cleanly() {
    GRACEFUL.store(true, Ordering::SeqCst);
}

/// Whether a stop was asked for.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// The error a cleanly stopped run returns: the step it stopped after and how to go on.
#[derive(Debug, thiserror::Error)]
#[error("interrupted after step {step}; a checkpoint is in {dir}: continue with `noisegd run --resume {dir}`")]
pub struct Interrupted {
    /// Steps done.
    pub step: u64,
    /// The run directory.
    pub dir: String,
}
