//! Wikipedia page summaries against fixtures from its public documentation.
