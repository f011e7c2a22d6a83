//! Spotify Web API against fixtures from its public documentation.
