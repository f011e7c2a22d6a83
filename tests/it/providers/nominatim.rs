//! Nominatim (OpenStreetMap) against fixtures from its public documentation.
