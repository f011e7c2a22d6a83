//! The adapter model: the named points of one fill where a provider may
//! supply code.
//!
//! A fill is a short conversation with the upstream. The worker asks the
//! provider's [`Adapter`] for the next call ([`Adapter::next_call`]), makes it
//! under the provider's rate limit with its credential
//! ([`Adapter::authorize`]), asks the adapter what the answer means
//! ([`Adapter::classify`]) and, once the adapter has no further call to make,
//! has it turn the answers into the stored entry ([`Adapter::finish`]).
//!
//! Every method has a default that does what a plain JSON API needs: one GET
//! built from the resource table, statuses read the usual way, the body
//! stored as it came. A provider overrides only what is special about it.
//! [`Table`] is the adapter of providers that need no code at all.

use std::time::Duration;

use bytes::Bytes;

pub use super::asset::{IMAGE_TTL, asset_product, classify_asset, image_call, image_name_ok};
use super::{Auth, ProviderSettings, Resolved};

/// One upstream call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Which of the provider's hosts (see [`super::Host`]); `""` is the main one.
    pub host: &'static str,
    pub method: Method,
    /// Path and query, appended to the host's base URL.
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
    /// `(content type, bytes)` for a POST.
    pub body: Option<(&'static str, Bytes)>,
    /// Apply the provider's credential ([`Adapter::authorize`]).
    pub authorized: bool,
    /// The provider whose rate limit this call counts against, when not the
    /// fill's own (a composite calling another provider's upstream).
    pub rate_as: Option<&'static str>,
    /// An asset download (an image): a 2xx body is streamed to a spool
    /// file under the asset size cap, hashed and sniffed
    /// ([`Response::download`]) instead of read into memory.
    pub asset: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Request {
    /// A GET of `path` on the main host, with the credential.
    pub fn get(path: impl Into<String>) -> Self {
        Request {
            host: "",
            method: Method::Get,
            path: path.into(),
            headers: Vec::new(),
            body: None,
            authorized: true,
            rate_as: None,
            asset: false,
        }
    }

    /// A GET of an image on `host`: no credential (image hosts take none),
    /// streamed to disk.
    pub fn asset(path: impl Into<String>, host: &'static str) -> Self {
        Request {
            host,
            authorized: false,
            asset: true,
            ..Request::get(path)
        }
        .header("accept", "image/*")
    }

    /// A POST of a JSON body.
    pub fn post_json(path: impl Into<String>, body: &serde_json::Value) -> Self {
        Request {
            method: Method::Post,
            body: Some(("application/json", Bytes::from(body.to_string()))),
            ..Request::get(path)
        }
    }

    pub fn on_host(mut self, host: &'static str) -> Self {
        self.host = host;
        self
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn rate_as(mut self, provider: &'static str) -> Self {
        self.rate_as = Some(provider);
        self
    }

    /// Append `name=value` to the query, encoded.
    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.push_query(name, value);
        self
    }

    pub fn push_query(&mut self, name: &str, value: &str) {
        self.path
            .push(if self.path.contains('?') { '&' } else { '?' });
        let pair = form_urlencoded::Serializer::new(String::new())
            .append_pair(name, value)
            .finish();
        self.path.push_str(&pair);
    }
}

/// One upstream answer, read whole (under the body cap).
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    /// An asset request's 2xx body, on disk (`body` is then empty).
    pub download: Option<std::sync::Arc<crate::assets::Download>>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or("application/json")
    }

    /// The body as JSON, if it is.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// `Retry-After` in seconds or as an HTTP date.
    pub fn retry_after(&self) -> Option<Duration> {
        let v = self.header("retry-after")?.trim();
        if let Ok(secs) = v.parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        let when = httpdate::parse_http_date(v).ok()?;
        Some(
            when.duration_since(std::time::SystemTime::now())
                .unwrap_or(Duration::ZERO),
        )
    }
}

/// What one answer means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Usable: keep it for [`Adapter::finish`] (or the next call).
    Found,
    /// The resource does not exist: the fill stores a negative entry with
    /// this JSON body.
    NotFound(Bytes),
    /// The upstream asks every caller to slow down, for this long when it
    /// says (429, MusicBrainz's 503, GitHub's exhausted quota).
    SlowDown(Option<Duration>),
    /// A passing failure (5xx): retry with backoff.
    Retry(String),
    /// The credential was refused: renew a login token once and retry.
    Unauthorized,
    /// The upstream refused this request (other 4xx): retrying won't help.
    Rejected(u16),
    /// A body that is not what this provider sends (a changed page, a proxy's
    /// error page): a failed fill, nothing cached.
    Garbage(String),
}

/// What a fill stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Product {
    /// A 200 entry.
    Found { content_type: String, body: Bytes },
    /// A negative (404) entry with a JSON body.
    NotFound(Bytes),
    /// An image, downloaded and sniffed: stored in asset storage, and the
    /// entry points at it.
    Asset(std::sync::Arc<crate::assets::Download>),
}

impl Product {
    /// A 200 entry of JSON.
    pub fn json(value: &serde_json::Value) -> Product {
        Product::Found {
            content_type: "application/json".into(),
            body: Bytes::from(value.to_string()),
        }
    }
}

/// The context of one fill: what was asked, and the provider's settings.
#[derive(Clone, Copy)]
pub struct Fill<'a> {
    pub resolved: &'a Resolved,
    pub settings: &'a ProviderSettings,
}

impl<'a> Fill<'a> {
    /// A parameter's normalised value (path or query), or its declared
    /// default when the request left it out (defaults are not in the key).
    pub fn param(&self, name: &str) -> Option<&'a str> {
        self.resolved.param(name).or_else(|| {
            self.resolved
                .resource
                .params
                .iter()
                .find(|p| p.name == name)
                .and_then(|p| p.default)
        })
    }

    /// The resource's name (`movie`, `search`…).
    pub fn resource(&self) -> &'static str {
        self.resolved.resource.name
    }

    /// The default request: the resource's upstream path with its parameters.
    pub fn table_request(&self) -> Request {
        Request::get(self.resolved.upstream_path_and_query())
    }
}

/// The login flow of a provider that trades its credential for a token.
#[derive(Debug, Clone)]
pub struct Token {
    pub value: crate::config::Secret,
    /// How long the upstream says it lives.
    pub lifetime: Duration,
}

/// A provider's code. Every method has the table behaviour as its default.
pub trait Adapter: Send + Sync {
    /// Rules across parameters that types cannot say (exactly one of `i`
    /// and `t`): an `Err` is a 400 and nothing is enqueued.
    fn check(&self, resolved: &Resolved) -> Result<(), crate::error::RequestError> {
        let _ = resolved;
        Ok(())
    }

    /// The next call of this fill, given the answers found so far (in call
    /// order); `None` when the fill has every answer it needs. An `image`
    /// resource of a provider with an [`Adapter::image_host`] is one
    /// download from that host.
    fn next_call(&self, fill: &Fill<'_>, answers: &[Response]) -> Option<Request> {
        if fill.resource() == "image"
            && let Some(host) = self.image_host()
        {
            return image_call(fill, answers, host);
        }
        answers.is_empty().then(|| fill.table_request())
    }

    /// The host an `image` resource downloads from (`""`: the main host),
    /// for providers whose answers name images.
    fn image_host(&self) -> Option<&'static str> {
        None
    }

    /// What an answer means.
    fn classify(&self, fill: &Fill<'_>, request: &Request, response: &Response) -> Verdict {
        let _ = fill;
        if request.asset {
            return classify_asset(response);
        }
        classify_status(response)
    }

    /// Turn the answers into the stored entry, or say the body is garbage.
    fn finish(&self, fill: &Fill<'_>, answers: Vec<Response>) -> Result<Product, String> {
        let _ = fill;
        let last = answers.into_iter().last().ok_or("no answer")?;
        if last.download.is_some() {
            return asset_product(last);
        }
        passthrough_json(last)
    }

    /// Put the credential on a request (`request.authorized`). `token` is the
    /// login token when the provider has a login flow.
    fn authorize(
        &self,
        fill: &Fill<'_>,
        request: &mut Request,
        credential: Option<&str>,
        token: Option<&str>,
    ) {
        default_authorize(fill.settings.def.auth, request, credential, token);
    }

    /// The login call, for providers whose credential buys a token
    /// (TheTVDB, Spotify); `None` otherwise.
    fn login(&self, settings: &ProviderSettings) -> Option<Request> {
        let _ = settings;
        None
    }

    /// Read the token out of a login answer.
    fn read_token(&self, response: &Response) -> Result<Token, String> {
        let _ = response;
        Err("this provider has no login".into())
    }

    /// Settings this provider cannot work with (a malformed list): the
    /// worker refuses to start, naming the setting.
    fn check_settings(&self, settings: &ProviderSettings) -> Result<(), String> {
        let _ = settings;
        Ok(())
    }

    /// Whether every successful fill of a resource keeps a snapshot of its
    /// answer (hot lists' history), when it differs from the last one.
    fn keeps_history(&self, resource: &super::ResourceDef) -> bool {
        let _ = resource;
        false
    }

    /// What makes two snapshots of an answer the same (a new snapshot is
    /// kept only when this changes): the whole body by default.
    fn history_digest(&self, body: &[u8]) -> u64 {
        xxhash_rust::xxh3::xxh3_64(body)
    }

    /// Whether a resource is an image kept in asset storage (its jobs
    /// count as `asset` in `larder_jobs_total`): the `image` resource of a
    /// provider with an [`Adapter::image_host`].
    fn is_asset(&self, resource: &super::ResourceDef) -> bool {
        resource.name == "image" && self.image_host().is_some()
    }

    /// Images a stored answer references that should be fetched now, as
    /// resource paths of this provider (`image/w500/abc.jpg`); the worker
    /// enqueues those not cached yet. Empty unless the provider is set to
    /// prefetch (`LARDER_TMDB_PREFETCH_IMAGES`).
    fn assets(&self, fill: &Fill<'_>, body: &[u8]) -> Vec<String> {
        let _ = (fill, body);
        Vec::new()
    }
}

/// The adapter of a provider that a table describes completely.
pub struct Table;

impl Adapter for Table {}

/// The usual reading of a status: 2xx found; 404 not found (when the body is
/// the API's own JSON: a bare 404 page comes from a proxy or a wrong mirror,
/// not a fact worth remembering); 429 slow down; 401 unauthorized; 5xx
/// retry; other statuses rejected.
pub fn classify_status(response: &Response) -> Verdict {
    match response.status {
        200..=299 => Verdict::Found,
        404 if response.json().is_some() => Verdict::NotFound(response.body.clone()),
        404 => Verdict::Garbage("a 404 that is not the API's JSON".into()),
        429 => Verdict::SlowDown(response.retry_after()),
        401 => Verdict::Unauthorized,
        500..=599 => Verdict::Retry(format!("status {}", response.status)),
        other => Verdict::Rejected(other),
    }
}

/// Store a JSON body as it came. The answer must say it is JSON
/// (`application/json` or a `+json` type, parameters aside) or say nothing;
/// anything else (`text/html; x=json`) is not an answer of the API. The
/// stored type is the media type with its charset only.
pub fn passthrough_json(response: Response) -> Result<Product, String> {
    let content_type = match response.header("content-type") {
        None => "application/json".to_owned(),
        Some(ct) => json_media_type(ct).ok_or_else(|| format!("not JSON: {ct:?}"))?,
    };
    serde_json::from_slice::<serde::de::IgnoredAny>(&response.body)
        .map_err(|e| format!("invalid JSON: {e}"))?;
    Ok(Product::Found {
        content_type,
        body: response.body,
    })
}

/// `application/json` or `type/subtype+json`, normalised (lowercase, a
/// charset kept, other parameters dropped); `None` for any other type.
pub fn json_media_type(content_type: &str) -> Option<String> {
    let mut parts = content_type.split(';');
    let essence = parts.next()?.trim().to_ascii_lowercase();
    let (kind, sub) = essence.split_once('/')?;
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    if !(token(kind) && token(sub)) || !(essence == "application/json" || sub.ends_with("+json")) {
        return None;
    }
    let charset = parts.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim().eq_ignore_ascii_case("charset"))
            .then(|| v.trim().trim_matches('"').to_ascii_lowercase())
    });
    Some(match charset {
        Some(c) if token(&c) => format!("{essence}; charset={c}"),
        _ => essence,
    })
}

/// A JSON `{"error": …}` body for a negative entry the upstream did not give.
pub fn not_found_body(message: &str) -> Bytes {
    Bytes::from(serde_json::json!({ "error": message }).to_string())
}

/// Credential injection as the provider's [`Auth`] says.
pub fn default_authorize(
    auth: Auth,
    request: &mut Request,
    credential: Option<&str>,
    token: Option<&str>,
) {
    if !request.authorized {
        return;
    }
    match (auth, credential, token) {
        (Auth::Login, _, Some(token)) => {
            request
                .headers
                .push(("authorization", format!("Bearer {token}")));
        }
        (Auth::Query(name), Some(key), _) => request.push_query(name, key),
        (Auth::Header(name), Some(key), _) => request.headers.push((name, key.to_owned())),
        (Auth::Bearer, Some(key), _) => {
            request
                .headers
                .push(("authorization", format!("Bearer {key}")));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::json_media_type;

    #[test]
    fn only_json_media_types_are_json() {
        assert_eq!(
            json_media_type("application/json").as_deref(),
            Some("application/json")
        );
        assert_eq!(
            json_media_type("Application/JSON;charset=UTF-8").as_deref(),
            Some("application/json; charset=utf-8")
        );
        assert_eq!(
            json_media_type("application/problem+json; x=1").as_deref(),
            Some("application/problem+json")
        );
        for bad in [
            "text/html; x=json",
            "text/json-ish",
            "application/jsonp",
            "json",
            "text/plain",
        ] {
            assert_eq!(json_media_type(bad), None, "{bad}");
        }
    }
}
