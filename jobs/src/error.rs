//! Error types of the shared crate.

/// Errors from the store, the database and configuration.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("queue error: {0}")]
    Queue(String),
    #[error("configuration error: {0}")]
    Config(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl Error {
    /// True when the error means "the database is not reachable right now",
    /// as opposed to a bug or bad data. The API answers 503 for these.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Error::Database(e) => {
                matches!(
                    e,
                    sqlx::Error::Io(_)
                        | sqlx::Error::PoolTimedOut
                        | sqlx::Error::PoolClosed
                        | sqlx::Error::Tls(_)
                        | sqlx::Error::Protocol(_)
                        | sqlx::Error::WorkerCrashed
                ) || matches!(e, sqlx::Error::Database(d) if d.code().is_some_and(|c| c.starts_with("57P") || c.starts_with("08") || c.starts_with("53")))
            }
            Error::Queue(_) => true,
            _ => false,
        }
    }

    /// True when the database is there but has no connection for us right
    /// now: the pool waited its acquire time-out, or the server refused a
    /// new connection (too many clients, insufficient resources). The API
    /// sheds these as 503 `overloaded` with `Retry-After`.
    pub fn is_overloaded(&self) -> bool {
        match self {
            Error::Database(sqlx::Error::PoolTimedOut) => true,
            Error::Database(sqlx::Error::Database(d)) => {
                d.code().is_some_and(|c| c.starts_with("53"))
            }
            _ => false,
        }
    }
}

/// A client request that does not fit the catalogue: a 400, never enqueued. `code` is stable and kebab-case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RequestError {
    pub code: &'static str,
    pub message: String,
}

impl RequestError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}
