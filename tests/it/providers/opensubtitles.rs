//! OpenSubtitles against fixtures from its public documentation.
