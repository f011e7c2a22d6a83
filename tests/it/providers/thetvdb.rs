//! TheTVDB v4 against fixtures from its public documentation.
