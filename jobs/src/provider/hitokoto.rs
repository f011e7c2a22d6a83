//! Hitokoto (一言) sentences (<https://developer.hitokoto.cn/sentence/>). No key.
//!
//! Every call answers a random sentence, so an entry is kept only a minute:
//! a "sentence of the minute" per category set and length range. larder
//! always asks for JSON (`encode=json`): `encode`, `callback` and `select`
//! (text, JSONP, JS) are not taken, and `charset` only as `utf-8` (a JSON
//! body is UTF-8). A request no sentence can satisfy (a length range too
//! narrow) is the upstream's 400 with its JSON envelope, remembered as not
//! found.

use super::{
    Adapter, Fill, Host, Kind, Param, Product, ProviderDef, Rate, Request, ResourceDef, Response,
    Ttl, Verdict, classify_status, hours, mins, passthrough_json,
};

/// a 动画, b 漫画, c 游戏, d 文学, e 原创, f 来自网络, g 其他, h 影视,
/// i 诗词, j 网易云, k 哲学, l 抖机灵.
const CATEGORIES: &[&str] = &["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"];

pub static HITOKOTO: ProviderDef = ProviderDef {
    adapter: &HitokotoAdapter,
    ..ProviderDef::new(
        "hitokoto",
        "Hitokoto (一言) sentences",
        &[Host {
            name: "",
            urls: &["https://v1.hitokoto.cn"],
        }],
        // The documented limit of v1.hitokoto.cn is 3.5 requests/s.
        Rate::per_second(3, 3),
        &[ResourceDef {
            name: "sentence",
            route: "sentence",
            upstream: "/",
            params: &[
                Param::opt(
                    "c",
                    Kind::SetOf {
                        values: CATEGORIES,
                        max: 12,
                    },
                ),
                Param::default("charset", Kind::OneOf(&["utf-8"]), "utf-8"),
                Param::default("min_length", Kind::Int { min: 0, max: 1000 }, "0"),
                Param::default("max_length", Kind::Int { min: 1, max: 1000 }, "30"),
            ],
            // Random by design: a minute fresh, an hour stale while one
            // refresh runs; an impossible length range for an hour.
            ttl: Ttl::new(mins(1), hours(1), hours(1), hours(24)),
        }],
    )
};

struct HitokotoAdapter;

impl Adapter for HitokotoAdapter {
    /// Categories go as repeated `c=` parameters, not one list.
    fn next_call(&self, fill: &Fill<'_>, answers: &[Response]) -> Option<Request> {
        if !answers.is_empty() {
            return None;
        }
        let mut request = Request::get("/");
        if let Some(c) = fill.param("c") {
            for category in c.split(',') {
                request.push_query("c", category);
            }
        }
        request.push_query("encode", "json");
        for name in ["min_length", "max_length"] {
            if let Some(v) = fill.param(name) {
                request.push_query(name, v);
            }
        }
        Some(request)
    }

    /// A 400 with the API's envelope (`{"status":400,"message":…}`) says no
    /// sentence fits these parameters.
    fn classify(&self, _: &Fill<'_>, _: &Request, response: &Response) -> Verdict {
        if response.status == 400 {
            let envelope = response
                .json()
                .is_some_and(|v| v.get("status").is_some() && v.get("message").is_some());
            return if envelope {
                Verdict::NotFound(response.body.clone())
            } else {
                Verdict::Rejected(400)
            };
        }
        classify_status(response)
    }

    fn finish(&self, _: &Fill<'_>, answers: Vec<Response>) -> Result<Product, String> {
        let last = answers.into_iter().last().ok_or("no answer")?;
        let sentence = last
            .json()
            .and_then(|v| v.get("hitokoto").map(serde_json::Value::is_string));
        if sentence != Some(true) {
            return Err("no sentence in the answer".into());
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
        testing::resolve(&HITOKOTO, "sentence", query)
    }

    fn with_fill<T>(r: &Resolved, f: impl FnOnce(&Fill<'_>) -> T) -> T {
        testing::with_fill(&HITOKOTO, r, f)
    }

    #[test]
    fn categories_are_a_set_sent_as_repeated_parameters() {
        let r = resolve("c=i,a,I&min_length=0&max_length=30&charset=UTF-8");
        assert_eq!(r.key.as_str(), "hitokoto/sentence?c=a%2Ci");
        let call = with_fill(&r, |f| HITOKOTO.adapter.next_call(f, &[])).unwrap();
        assert_eq!(
            call.path,
            "/?c=a&c=i&encode=json&min_length=0&max_length=30"
        );

        let r = resolve("max_length=50&min_length=10");
        assert_eq!(
            r.key.as_str(),
            "hitokoto/sentence?max_length=50&min_length=10"
        );
        let call = with_fill(&r, |f| HITOKOTO.adapter.next_call(f, &[])).unwrap();
        assert_eq!(call.path, "/?encode=json&min_length=10&max_length=50");

        let r = resolve("");
        let call = with_fill(&r, |f| HITOKOTO.adapter.next_call(f, &[])).unwrap();
        assert_eq!(call.path, "/?encode=json&min_length=0&max_length=30");
    }

    #[test]
    fn other_encodings_and_unknown_categories_are_refused() {
        let code = |q: &str| testing::code(&HITOKOTO, "sentence", q);
        assert_eq!(code("encode=text"), "unknown-parameter");
        assert_eq!(code("callback=f"), "unknown-parameter");
        assert_eq!(code("charset=gbk"), "invalid-parameter");
        assert_eq!(code("c=m"), "invalid-parameter");
        assert_eq!(code("max_length=1001"), "invalid-parameter");
        assert_eq!(code("min_length=-1"), "invalid-parameter");
    }

    #[test]
    fn answers_are_read() {
        let r = resolve("");
        let ok = r#"{"id":5923,"uuid":"86847a8b-800a-4500-8720-e7620a4e63c9","hitokoto":"晚日寒鸦一片愁。柳塘新绿却温柔。","type":"i","from":"鹧鸪天·晚日寒鸦一片愁","from_who":"辛弃疾","length":16}"#;
        with_fill(&r, |f| {
            let a = HITOKOTO.adapter;
            let req = Request::get("/");
            assert_eq!(a.classify(f, &req, &response(200, ok)), Verdict::Found);
            assert!(matches!(
                a.finish(f, vec![response(200, ok)]),
                Ok(Product::Found { .. })
            ));
            assert!(a.finish(f, vec![response(200, "null")]).is_err());
            assert!(a.finish(f, vec![response(200, "晚日寒鸦")]).is_err());

            let none = r#"{"status":400,"message":"很抱歉，没有分类有句子符合长度区间。","data":[],"ts":1717230000000}"#;
            assert!(matches!(
                a.classify(f, &req, &response(400, none)),
                Verdict::NotFound(_)
            ));
            assert_eq!(
                a.classify(f, &req, &response(400, "<html>")),
                Verdict::Rejected(400)
            );
            assert!(matches!(
                a.classify(f, &req, &response(503, "")),
                Verdict::Retry(_)
            ));
        });
    }
}
