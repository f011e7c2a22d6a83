//! LRCLIB lyrics against fixtures from its public documentation.
