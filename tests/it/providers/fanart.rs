//! fanart.tv against fixtures from its public documentation.
