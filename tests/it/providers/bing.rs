//! Bing daily wallpaper against fixtures from its public documentation.
