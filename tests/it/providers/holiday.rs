//! Public holidays against fixtures from its public documentation.
