//! ZenQuotes against fixtures from its public documentation.
