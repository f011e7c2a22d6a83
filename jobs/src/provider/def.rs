//! What a provider is: its hosts, how its credential is sent, the settings
//! it reads, its rate and its resources, and the adapter with its code.

use super::{Adapter, Rate, ResourceDef, Table};

/// How a provider's credential reaches the upstream (when a request is
/// `authorized`); an adapter may do it its own way instead
/// ([`Adapter::authorize`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// No credential.
    None,
    /// As a query parameter with this name.
    Query(&'static str),
    /// As a header with this name.
    Header(&'static str),
    /// As `Authorization: Bearer`.
    Bearer,
    /// A token from the provider's login flow, as `Authorization: Bearer`.
    Login,
    /// The adapter puts it on itself.
    Custom,
}

/// One upstream host of a provider, with its public base URLs (mirrors).
/// The main host is named `""`; others get `LARDER_<ID>_<NAME>_BASE_URL`.
#[derive(Debug)]
pub struct Host {
    pub name: &'static str,
    pub urls: &'static [&'static str],
}

/// A value a provider reads from configuration: a credential, a User-Agent.
/// Set as `[providers.<id>.settings] <name> = "…"` or by its variable.
#[derive(Debug)]
pub struct Setting {
    pub name: &'static str,
    /// The environment variable (`OMDB_API_KEY`).
    pub env: &'static str,
    /// Without it the provider is disabled.
    pub required: bool,
}

impl Setting {
    pub const fn required(name: &'static str, env: &'static str) -> Self {
        Setting {
            name,
            env,
            required: true,
        }
    }
    pub const fn optional(name: &'static str, env: &'static str) -> Self {
        Setting {
            name,
            env,
            required: false,
        }
    }
}

/// One provider.
pub struct ProviderDef {
    pub id: &'static str,
    pub title: &'static str,
    /// The main host first.
    pub hosts: &'static [Host],
    pub auth: Auth,
    pub settings: &'static [Setting],
    /// The setting passed to [`Adapter::authorize`] as the credential (a
    /// comma-separated value is a pool, used in turn).
    pub credential: Option<&'static str>,
    /// The setting sent as `User-Agent` (terms of use of MusicBrainz,
    /// Nominatim, Bangumi).
    pub user_agent: Option<&'static str>,
    /// Default rate, shared by every worker.
    pub rate: Rate,
    /// The rate when the credential is set, if it differs (GitHub).
    pub rate_with_credential: Option<Rate>,
    pub resources: &'static [ResourceDef],
    pub adapter: &'static dyn Adapter,
}

impl std::fmt::Debug for ProviderDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderDef").field("id", &self.id).finish()
    }
}

impl ProviderDef {
    /// A provider with no credential, one host and the table adapter; the
    /// rest is set with struct update syntax.
    pub const fn new(
        id: &'static str,
        title: &'static str,
        hosts: &'static [Host],
        rate: Rate,
        resources: &'static [ResourceDef],
    ) -> Self {
        ProviderDef {
            id,
            title,
            hosts,
            auth: Auth::None,
            settings: &[],
            credential: None,
            user_agent: None,
            rate,
            rate_with_credential: None,
            resources,
            adapter: &Table,
        }
    }

    pub fn host(&self, name: &str) -> Option<&'static Host> {
        self.hosts.iter().find(|h| h.name == name)
    }
}
