//! RegieLive subtitles against fixtures from its public documentation.
