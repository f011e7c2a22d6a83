//! Bing's homepage image archive (`HPImageArchive.aspx`), the daily
//! wallpaper. Undocumented but long stable; no key. Always asked for JSON
//! (`format=js`). An answer without images (`null`, `"images": []`) is an
//! error, never stored.

use super::{
    Adapter, Fill, Host, IMAGE_TTL, Kind, Param, Product, ProviderDef, Rate, Request, Resolved,
    ResourceDef, Response, Ttl, days, hours, image_call, image_name_ok, mins, passthrough_json,
};
use crate::error::RequestError;

pub static BING: ProviderDef = ProviderDef {
    adapter: &BingAdapter,
    ..ProviderDef::new(
        "bing",
        "Bing daily wallpaper",
        &[Host {
            name: "",
            urls: &["https://www.bing.com"],
        }],
        // No published limit; a cache asks rarely.
        Rate::per_second(2, 5),
        &[
            ResourceDef {
                name: "wallpaper",
                route: "wallpaper",
                upstream: "/HPImageArchive.aspx",
                params: &[
                    // Days back from today; the archive keeps about a week.
                    Param::default("idx", Kind::Int { min: 0, max: 7 }, "0"),
                    // Images; Bing gives at most 8.
                    Param::default("n", Kind::Int { min: 1, max: 8 }, "1"),
                    // A market such as en-US or zh-CN.
                    Param::opt("mkt", Kind::Language),
                ],
                // The image turns once a day per market (at a market's own
                // hour): a few hours fresh.
                ttl: Ttl::new(hours(3), hours(24), mins(5), days(7)),
            },
            // The wallpaper itself: the `urlbase` of an archive answer plus a
            // resolution, `th?id=OHR.MullOtter_ROW8840823080_1920x1080.jpg`.
            ResourceDef {
                name: "image",
                route: "image",
                upstream: "/th",
                params: &[Param::req(
                    "id",
                    Kind::Ident {
                        max_len: 160,
                        extra: "._-",
                    },
                )],
                ttl: IMAGE_TTL,
            },
        ],
    )
};

struct BingAdapter;

impl Adapter for BingAdapter {
    fn check(&self, resolved: &Resolved) -> Result<(), RequestError> {
        if resolved.resource.name == "image"
            && !resolved.param("id").is_some_and(|id| {
                id.starts_with("OHR.") && image_name_ok(id, &["jpg", "jpeg", "webp", "png"])
            })
        {
            return Err(RequestError::new(
                "invalid-parameter",
                "id: not a Bing wallpaper image (OHR.<name>_<resolution>.jpg)",
            ));
        }
        Ok(())
    }

    fn image_host(&self) -> Option<&'static str> {
        Some("")
    }

    /// Every parameter goes explicitly, with `format=js`.
    fn next_call(&self, fill: &Fill<'_>, answers: &[Response]) -> Option<Request> {
        if fill.resource() == "image" {
            return image_call(fill, answers, "");
        }
        if !answers.is_empty() {
            return None;
        }
        let mut request = Request::get("/HPImageArchive.aspx")
            .query("format", "js")
            .query("idx", fill.param("idx").unwrap_or("0"))
            .query("n", fill.param("n").unwrap_or("1"));
        if let Some(mkt) = fill.param("mkt") {
            request.push_query("mkt", mkt);
        }
        Some(request)
    }

    fn finish(&self, _: &Fill<'_>, answers: Vec<Response>) -> Result<Product, String> {
        let last = answers.into_iter().last().ok_or("no answer")?;
        let images = last
            .json()
            .and_then(|v| v.get("images")?.as_array().map(|a| !a.is_empty()));
        if images != Some(true) {
            return Err("no images in the answer".into());
        }
        passthrough_json(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Resolved;
    use crate::provider::testing::{self, response};

    fn resolve(query: &str) -> Resolved {
        testing::resolve(&BING, "wallpaper", query)
    }

    fn with_fill<T>(r: &Resolved, f: impl FnOnce(&Fill<'_>) -> T) -> T {
        testing::with_fill(&BING, r, f)
    }

    fn answer(body: &str) -> Response {
        response(200, body)
    }

    #[test]
    fn the_upstream_always_gets_json_and_every_parameter() {
        let r = resolve("idx=0&n=1&mkt=en-us");
        assert_eq!(r.key.as_str(), "bing/wallpaper?mkt=en-US");
        let call = with_fill(&r, |f| BING.adapter.next_call(f, &[])).unwrap();
        assert_eq!(
            call.path,
            "/HPImageArchive.aspx?format=js&idx=0&n=1&mkt=en-US"
        );
        let r = resolve("n=8&idx=7");
        assert_eq!(r.key.as_str(), "bing/wallpaper?idx=7&n=8");
        let call = with_fill(&r, |f| BING.adapter.next_call(f, &[])).unwrap();
        assert_eq!(call.path, "/HPImageArchive.aspx?format=js&idx=7&n=8");
    }

    #[test]
    fn bad_parameters_are_refused() {
        let code = |q: &str| testing::code(&BING, "wallpaper", q);
        assert_eq!(code("idx=8"), "invalid-parameter");
        assert_eq!(code("n=0"), "invalid-parameter");
        assert_eq!(code("n=9"), "invalid-parameter");
        assert_eq!(code("mkt=english"), "invalid-parameter");
        assert_eq!(code("format=xml"), "unknown-parameter");
    }

    #[test]
    fn answers_without_images_are_errors() {
        let r = resolve("");
        with_fill(&r, |f| {
            let ok = r#"{"images":[{"startdate":"20240529","url":"/th?id=OHR.MullOtter_ROW8840823080_1920x1080.jpg&pid=hp","urlbase":"/th?id=OHR.MullOtter_ROW8840823080","copyright":"Eurasian otters"}],"tooltips":{"loading":"Loading..."}}"#;
            assert!(matches!(
                BING.adapter.finish(f, vec![answer(ok)]),
                Ok(Product::Found { .. })
            ));
            for bad in ["null", r#"{"images":[]}"#, r#"{"tooltips":{}}"#, "<html>"] {
                assert!(BING.adapter.finish(f, vec![answer(bad)]).is_err(), "{bad}");
            }
        });
    }
}
