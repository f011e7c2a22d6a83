//! Geocoding (Nominatim + Open-Meteo) against fixtures from its public documentation.
