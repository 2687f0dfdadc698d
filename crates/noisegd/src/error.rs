//! The library's typed errors: each names the problem and, where there is one, the fix.

/// Anything the library can refuse.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration value is out of its allowed range.
    #[error("invalid value for `{key}`: {message}")]
    InvalidValue {
        /// The configuration key, e.g. `noise.sigma`.
        key: String,
        /// What was found and what is allowed.
        message: String,
    },
    /// The compute device a config asks for cannot be opened.
    #[error("device `{device}`: {message}")]
    Device {
        /// The config's `device` value.
        device: String,
        /// What was looked for, what was found and what to install or change.
        message: String,
    },
    /// The model has no float parameter to perturb or optimize.
    #[error("the model has no trainable float parameters")]
    NoParameters,
    /// A loss or gradient is not finite: the run diverged.
    #[error("non-finite {what} at step {step}: {hint}")]
    Diverged {
        /// `loss` or `gradient`.
        what: String,
        /// The step at which it happened.
        step: u64,
        /// What to lower.
        hint: String,
    },
    /// A run was stopped (by its stop signal) before its last step.
    #[error("the run was stopped after step {done}, before its end")]
    Interrupted {
        /// Steps done.
        done: u64,
    },
    /// A checkpoint could not be written or read.
    #[error("checkpoint {}: {message}", path.display())]
    Checkpoint {
        /// The file (empty when the problem is not about a file).
        path: std::path::PathBuf,
        /// What went wrong and what to do.
        message: String,
    },
    /// A file of the run (its metrics) could not be written or read.
    #[error("cannot {action} {}: {message}", path.display())]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// What was being done: `create`, `write to`, `read back`, ...
        action: String,
        /// The operating system's or the writer's message.
        message: String,
    },
    /// Shape or length mismatch between things that must agree.
    #[error("shape mismatch in {context}: expected {expected}, found {found}")]
    Shape {
        /// Where the mismatch was found.
        context: String,
        /// What was expected.
        expected: String,
        /// What was found.
        found: String,
    },
}

/// Library result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Shorthand for [`Error::InvalidValue`].
    pub fn invalid(key: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidValue {
            key: key.into(),
            message: message.into(),
        }
    }
}
