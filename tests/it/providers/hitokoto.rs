//! Hitokoto against fixtures from its public documentation.
