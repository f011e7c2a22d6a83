//! Qidian books against fixtures from its public documentation.
