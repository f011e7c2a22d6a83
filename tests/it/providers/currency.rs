//! Exchange rates against fixtures from its public documentation.
