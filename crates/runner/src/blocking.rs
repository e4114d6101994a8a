//! CPU-bound work inside the async run.

/// Runs CPU-bound work: on a worker of a multi-thread runtime it tells tokio so; on a
/// current-thread runtime it simply runs.
pub fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}
