//! Deezer against fixtures from its public documentation.
