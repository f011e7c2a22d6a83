//! OMDb against fixtures from its public documentation.
