//! MusicBrainz against fixtures from its public documentation.
