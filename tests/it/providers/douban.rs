//! Douban movies against fixtures from its public documentation.
