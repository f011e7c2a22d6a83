//! GitHub releases against fixtures from its public documentation.
