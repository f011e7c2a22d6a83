//! `LARDER_DISK_CACHE_DIR`: where the API's disk tier keeps its files.

use serde::{Deserialize, Serialize};

/// Where the disk tier keeps its files (`LARDER_DISK_CACHE_DIR`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DiskDir {
    /// The system's temporary folder, when it is on disk (not tmpfs).
    #[default]
    Auto,
    Off,
    At(std::path::PathBuf),
}

impl DiskDir {
    /// `auto` (or empty), `off`, or a folder.
    pub fn parse(v: &str) -> DiskDir {
        match v.trim() {
            "" | "auto" => DiskDir::Auto,
            "off" => DiskDir::Off,
            dir => DiskDir::At(dir.into()),
        }
    }
}

impl Serialize for DiskDir {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            DiskDir::Auto => s.serialize_str("auto"),
            DiskDir::Off => s.serialize_str("off"),
            DiskDir::At(dir) => s.serialize_str(&dir.display().to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for DiskDir {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(DiskDir::parse(&String::deserialize(d)?))
    }
}
