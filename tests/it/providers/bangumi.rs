//! Bangumi against fixtures from its public documentation.
