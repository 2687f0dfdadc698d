//! Where the project's small reference data files (`shared/data`) are, for tests.
//!
//! The project never needs them to run; tests that use them skip, with a printed message, when
//! [`shared_test_data`] returns `None`.

use std::path::PathBuf;

/// Environment variable that overrides the lookup of the shared test-data directory.
pub const SHARED_DATA_ENV: &str = "NOISEGD_SHARED_DATA";

/// The shared test-data directory (`…/shared/data`), if there is one.
///
/// 1. `$NOISEGD_SHARED_DATA`, if set (it is returned only if it is a directory);
/// 2. otherwise the first `shared/data` directory found beside this crate's manifest directory
///    or beside one of its ancestors (the repository is checked out with `shared/` next to it,
///    e.g. `/work/main` and `/work/shared`).
pub fn shared_test_data() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(SHARED_DATA_ENV) {
        let dir = PathBuf::from(dir);
        return dir.is_dir().then_some(dir);
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .map(|a| a.join("shared").join("data"))
        .find(|d| d.is_dir())
}

/// [`shared_test_data`] joined with `sub`, or `None` (after printing why the caller skips).
pub fn shared_test_path(sub: &str, test: &str) -> Option<PathBuf> {
    match shared_test_data() {
        Some(dir) if dir.join(sub).exists() => Some(dir.join(sub)),
        Some(dir) => {
            eprintln!(
                "SKIP {test}: {} does not exist (set {SHARED_DATA_ENV} to the shared/data directory)",
                dir.join(sub).display()
            );
            None
        }
        None if std::env::var_os(SHARED_DATA_ENV).is_some() => {
            eprintln!(
                "SKIP {test}: {SHARED_DATA_ENV}={} is not a directory",
                std::env::var_os(SHARED_DATA_ENV)
                    .unwrap_or_default()
                    .to_string_lossy()
            );
            None
        }
        None => {
            eprintln!(
                "SKIP {test}: no shared/data directory found beside {} or its ancestors \
                 (set {SHARED_DATA_ENV} to point at it)",
                env!("CARGO_MANIFEST_DIR")
            );
            None
        }
    }
}

/// Environment variable that turns the skip of the full-data-set tests into a failure (CI sets it
/// after installing `dataset-fashion-mnist`).
pub const REQUIRE_FULL_DATA_ENV: &str = "NOISEGD_REQUIRE_FULL_DATA";

/// `dir` if it is a directory; otherwise `None` after printing why `test` skips — or a panic when
/// [`REQUIRE_FULL_DATA_ENV`] is `1`, so that CI cannot pass by skipping.
pub fn full_data_dir(dir: &std::path::Path, test: &str) -> Option<PathBuf> {
    if dir.is_dir() {
        return Some(dir.to_path_buf());
    }
    let required = std::env::var(REQUIRE_FULL_DATA_ENV).is_ok_and(|v| v == "1");
    assert!(
        !required,
        "{test}: {} is not a directory, and {REQUIRE_FULL_DATA_ENV}=1 requires it          (apt-get install dataset-fashion-mnist)",
        dir.display()
    );
    eprintln!(
        "SKIP {test}: {} is not a directory (apt-get install dataset-fashion-mnist;          set {REQUIRE_FULL_DATA_ENV}=1 to make this a failure)",
        dir.display()
    );
    None
}

/// A fresh temporary directory, removed on drop (tests only; no tempfile dependency).
#[cfg(test)]
pub(crate) struct TempDir(pub PathBuf);

#[cfg(test)]
impl TempDir {
    pub(crate) fn new(tag: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let d =
            std::env::temp_dir().join(format!("noisegd-test-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }
}

#[cfg(test)]
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn lookup_does_not_panic() {
        // Either finds a directory or says it is absent; never panics.
        if let Some(d) = super::shared_test_data() {
            assert!(d.is_dir());
        }
    }
}
