//! The shared compute pool: CPU-heavy work runs on tokio's blocking threads (never on the JS
//! thread or libuv's pool), at most one job per core at a time, so concurrent tenants share
//! the machine instead of oversubscribing it. A panic in a job becomes an error.

use crate::error::{Error, Result};

fn permits() -> &'static tokio::sync::Semaphore {
    static S: once_cell::sync::OnceCell<tokio::sync::Semaphore> = once_cell::sync::OnceCell::new();
    S.get_or_init(|| tokio::sync::Semaphore::new(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)))
}

/// Runs `f` on the blocking pool once a core is free.
pub async fn blocking<T, F>(f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    let _permit = permits().acquire().await.map_err(|e| Error::Internal(e.to_string()))?;
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) if e.is_panic() => Err(Error::Internal(panic_message(e.into_panic()))),
        Err(e) => Err(Error::Internal(e.to_string())),
    }
}

/// A core of the pool, for a job on a blocking thread of its own that mostly waits for work
/// (the background encoder): it takes a core for each piece of work, not for its whole life.
pub fn core_blocking() -> Result<tokio::sync::SemaphorePermit<'static>> {
    tokio::runtime::Handle::current().block_on(permits().acquire()).map_err(|e| Error::Internal(e.to_string()))
}

/// Runs an async job as its own task so that a panic in it becomes an error.
pub async fn guarded<T, F>(fut: F) -> Result<T>
where
    T: Send + 'static,
    F: std::future::Future<Output = Result<T>> + Send + 'static,
{
    match tokio::spawn(fut).await {
        Ok(r) => r,
        Err(e) if e.is_panic() => Err(Error::Internal(panic_message(e.into_panic()))),
        Err(e) => Err(Error::Internal(e.to_string())),
    }
}

pub fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        format!("panic: {s}")
    } else if let Some(s) = p.downcast_ref::<String>() {
        format!("panic: {s}")
    } else {
        "panic".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_becomes_an_error() {
        let e = blocking(|| -> Result<()> { panic!("boom") }).await.unwrap_err();
        assert_eq!(e.code(), "ERR_INTERNAL");
        assert!(e.to_string().contains("boom"));
        let e = guarded::<(), _>(async { panic!("async boom") }).await.unwrap_err();
        assert!(e.to_string().contains("async boom"));
        assert_eq!(blocking(|| Ok(7)).await.unwrap(), 7);
    }
}
