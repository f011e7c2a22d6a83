//! ASSRT subtitles against fixtures from its public documentation.
