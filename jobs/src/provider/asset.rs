//! The adapter points of image resources: one streamed download per fill,
//! statuses read as an image host's, the bytes sniffed.

use super::adapter::{Fill, Product, Request, Response, Verdict, classify_status, not_found_body};

/// The TTLs of an image resource: the bytes at an image URL do not change
/// (a year fresh), a missing one is asked again within the hour.
pub const IMAGE_TTL: super::Ttl = super::Ttl::new(
    super::days(365),
    super::days(365),
    super::hours(1),
    super::days(365),
);

/// The one call of an image resource: its upstream path on `host`,
/// without credential, streamed to disk.
pub fn image_call(fill: &Fill<'_>, answers: &[Response], host: &'static str) -> Option<Request> {
    answers
        .is_empty()
        .then(|| Request::asset(fill.resolved.upstream_path_and_query(), host))
}

/// A file name of letters, digits, `-`, `_` and `.`, ending in one of
/// `exts`: what image routes accept (nothing else reaches an image host).
pub fn image_name_ok(name: &str, exts: &[&str]) -> bool {
    let Some((stem, ext)) = name.rsplit_once('.') else {
        return false;
    };
    !stem.is_empty()
        && name.len() <= 200
        && stem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        && exts.contains(&ext.to_ascii_lowercase().as_str())
}

/// An image host's statuses: 2xx found; 404 and 410 not found (image CDNs
/// answer them with HTML or nothing: the negative entry gets a JSON body of
/// its own); the rest as usual.
pub fn classify_asset(response: &Response) -> Verdict {
    match response.status {
        404 | 410 => Verdict::NotFound(not_found_body("no such image upstream")),
        _ => classify_status(response),
    }
}

/// A downloaded image as the product; anything the sniffer does not know
/// as an image (an HTML error page served as 200, a JSON body) is garbage
/// and nothing is stored.
pub fn asset_product(response: Response) -> Result<Product, String> {
    let download = response.download.ok_or("no download")?;
    if download.image.is_none() {
        return Err(format!(
            "not an image ({} bytes, declared {:?})",
            download.size,
            response
                .headers
                .iter()
                .find(|(n, _)| n == "content-type")
                .map(|(_, v)| v.as_str())
                .unwrap_or("nothing")
        ));
    }
    Ok(Product::Asset(download))
}
