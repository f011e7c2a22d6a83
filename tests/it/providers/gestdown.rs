//! Gestdown (Addic7ed proxy) against fixtures from its public documentation.
