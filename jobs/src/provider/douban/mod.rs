//! Douban movies (<https://movie.douban.com>). Douban has no public API any
//! more: a subject is its web page read into JSON, and search is the site's
//! own autocomplete (`/j/subject_suggest`), normalised.
//!
//! Douban blocks clients that look like scripts (a 403 "有异常请求从你的 IP
//! 发出" page, or a redirect to `sec.douban.com` or its login page) and bans
//! an IP after a few hundred quick requests: one call a second, a browser
//! User-Agent, and long TTLs. A block is never cached.

use scraper::Html;
use serde_json::{Map, Value, json};

use super::html::{
    ACCEPT_HTML, all_text, classify_page, first_text, lines, nullable, selector, text,
};
use super::{
    Adapter, Fill, Host, Kind, Param, Product, ProviderDef, Rate, Request, ResourceDef, Response,
    Setting, Ttl, Verdict, days, hours,
};

/// Sent unless `DOUBAN_USER_AGENT` says otherwise: Douban answers 403 to
/// library User-Agents.
const BROWSER_UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 \
                          (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
const ACCEPT_LANGUAGE: &str = "zh-CN,zh;q=0.9,en;q=0.8";

/// How long to leave Douban alone after it blocks this IP. Bans last hours;
/// larder pauses the provider for at most `upstream.retry_after_max` (1 h by
/// default) and, as this is longer, fails the fill at once.
const BAN_PAUSE: std::time::Duration = hours(6);

pub static DOUBAN: ProviderDef = ProviderDef {
    settings: &[Setting::optional("user_agent", "DOUBAN_USER_AGENT")],
    user_agent: Some("user_agent"),
    adapter: &DoubanAdapter,
    ..ProviderDef::new(
        "douban",
        "Douban movies",
        &[Host {
            name: "",
            urls: &["https://movie.douban.com"],
        }],
        // No published limit; bans follow bursts. One call a second.
        Rate::per_second(1, 1),
        &[
            ResourceDef {
                name: "subject",
                route: "subject/{id}",
                upstream: "/subject/{id}/",
                params: &[Param::req(
                    "id",
                    Kind::Int {
                        min: 1,
                        max: 999_999_999_999,
                    },
                )],
                // Ratings drift, the rest hardly changes; every call risks a ban.
                ttl: Ttl::new(days(3), days(7), days(1), days(30)),
            },
            ResourceDef {
                name: "search",
                route: "search",
                upstream: "/j/subject_suggest",
                params: &[Param::req(
                    "q",
                    Kind::Text {
                        max_len: 100,
                        fold_case: true,
                    },
                )],
                ttl: Ttl::new(days(1), days(3), hours(1), days(7)),
            },
        ],
    )
};

struct DoubanAdapter;

impl Adapter for DoubanAdapter {
    fn next_call(&self, fill: &Fill<'_>, answers: &[Response]) -> Option<Request> {
        if !answers.is_empty() {
            return None;
        }
        let mut request = fill
            .table_request()
            .header("accept-language", ACCEPT_LANGUAGE);
        if fill.resource() == "subject" {
            request = request.header("accept", ACCEPT_HTML);
        }
        if fill.settings.user_agent().is_none() {
            request = request.header("user-agent", BROWSER_UA);
        }
        Some(request)
    }

    fn classify(&self, fill: &Fill<'_>, _: &Request, response: &Response) -> Verdict {
        if let Some(blocked) = blocked(response) {
            return blocked;
        }
        classify_page(fill, response, "subject", "no Douban subject with this id")
    }

    fn finish(&self, fill: &Fill<'_>, answers: Vec<Response>) -> Result<Product, String> {
        let last = answers.into_iter().last().ok_or("no answer")?;
        let value = match fill.resource() {
            "subject" => {
                let id = fill.param("id").unwrap_or_default();
                parse_subject(id, &String::from_utf8_lossy(&last.body))?
            }
            _ => {
                let raw: Value = serde_json::from_slice(&last.body)
                    .map_err(|e| format!("suggest answer is not JSON: {e}"))?;
                normalise_suggest(&raw)?
            }
        };
        Ok(Product::json(&value))
    }
}

/// Douban refusing this client: its 403 ban page, its `sec.douban.com`
/// check, or its login page (where a redirect ends). A ban pauses the
/// provider; a login page (a title only members may see, or a softer
/// block) fails just this fill.
fn blocked(response: &Response) -> Option<Verdict> {
    let location = response.header("location").unwrap_or_default();
    if (300..400).contains(&response.status) {
        return Some(if location.contains("sec.douban.com") {
            Verdict::SlowDown(Some(BAN_PAUSE))
        } else {
            // Redirects are followed; one that is left is a login page or a loop.
            Verdict::Rejected(response.status)
        });
    }
    if response.status == 403 {
        return Some(Verdict::SlowDown(Some(BAN_PAUSE)));
    }
    if !(200..300).contains(&response.status) {
        return None;
    }
    let body = String::from_utf8_lossy(&response.body);
    if body.contains("v:itemreviewed") || response.json().is_some() {
        return None;
    }
    if body.contains("有异常请求") || body.contains("sec.douban.com") || body.contains("禁止访问")
    {
        return Some(Verdict::SlowDown(Some(BAN_PAUSE)));
    }
    let title = body
        .split_once("<title>")
        .and_then(|(_, rest)| rest.split_once("</title>"))
        .map(|(t, _)| t)
        .unwrap_or_default();
    if title.contains("登录") {
        return Some(Verdict::Rejected(403));
    }
    None
}

/// `#info` as `label → value` (`导演` → `弗兰克·德拉邦特`).
fn info_lines(doc: &Html) -> Vec<(String, String)> {
    let Some(info) = doc.select(&selector("#info")).next() else {
        return Vec::new();
    };
    lines(info)
        .into_iter()
        .filter_map(|line| {
            let cut = line.find([':', '：'])?;
            let label = line[..cut].trim().to_string();
            let value = line[cut..]
                .trim_start_matches([':', '：'])
                .trim()
                .to_string();
            Some((label, value))
        })
        .collect()
}

fn split_list(value: &str) -> Vec<String> {
    value
        .split('/')
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "更多...")
        .map(String::from)
        .collect()
}

fn leading_number(s: &str) -> Option<u64> {
    let digits: String = s.trim().chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// A subject page into JSON. A page without `v:itemreviewed` is not a
/// subject page as larder knows it (a redesign, an interstitial): an error,
/// never an empty entry.
fn parse_subject(id: &str, html: &str) -> Result<Value, String> {
    let doc = Html::parse_document(html);
    let full_title = first_text(&doc, r#"span[property="v:itemreviewed"]"#)
        .ok_or("no span[property=\"v:itemreviewed\"]: not a Douban subject page")?;
    let info = info_lines(&doc);
    let line = |label: &str| {
        info.iter()
            .find(|(l, _)| l == label)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let list = |label: &str| line(label).map(|v| split_list(&v)).unwrap_or_default();

    // `v:itemreviewed` is "中文名 原名"; the page title holds the first part.
    let page_title = first_text(&doc, "title")
        .map(|t| t.trim_end_matches("(豆瓣)").trim().to_string())
        .filter(|t| !t.is_empty());
    let (title, original) = match page_title {
        Some(t) if full_title.starts_with(&t) && full_title.len() > t.len() => {
            let rest = full_title[t.len()..].trim().to_string();
            (t, Some(rest).filter(|r| !r.is_empty()))
        }
        _ => (full_title.clone(), None),
    };
    let original = line("原名").or(original);

    let year = first_text(&doc, "h1 span.year")
        .map(|y| y.trim_matches(['(', ')', ' ']).to_string())
        .and_then(|y| y.parse::<u64>().ok());
    let rating = first_text(&doc, r#"[property="v:average"]"#).and_then(|r| r.parse::<f64>().ok());
    let votes = first_text(&doc, r#"[property="v:votes"]"#).and_then(|v| v.parse::<u64>().ok());

    let mut directors = all_text(&doc, r#"a[rel="v:directedBy"]"#);
    if directors.is_empty() {
        directors = list("导演");
    }
    let mut actors = all_text(&doc, r#"a[rel="v:starring"]"#);
    if actors.is_empty() {
        actors = list("主演");
    }
    let mut genres = all_text(&doc, r#"span[property="v:genre"]"#);
    if genres.is_empty() {
        genres = list("类型");
    }
    let mut release_dates = all_text(&doc, r#"span[property="v:initialReleaseDate"]"#);
    if release_dates.is_empty() {
        release_dates = list("上映日期");
        release_dates.extend(list("首播"));
    }

    let runtime_el = doc
        .select(&selector(r#"span[property="v:runtime"]"#))
        .next();
    let runtime = runtime_el
        .map(text)
        .filter(|t| !t.is_empty())
        .or_else(|| line("片长"))
        .or_else(|| line("单集片长"));
    let runtime_minutes = runtime_el
        .and_then(|e| e.value().attr("content"))
        .and_then(leading_number)
        .or_else(|| runtime.as_deref().and_then(leading_number));

    let summary = ["span.all.hidden", r#"span[property="v:summary"]"#]
        .iter()
        .find_map(|css| {
            doc.select(&selector(css))
                .map(|e| lines(e).join("\n"))
                .find(|s| !s.is_empty())
        });
    let poster = doc
        .select(&selector("#mainpic img"))
        .find_map(|e| e.value().attr("src"))
        .map(str::to_string);
    let imdb = line("IMDb").filter(|v| {
        v.starts_with("tt") && v.len() > 2 && v[2..].chars().all(|c| c.is_ascii_digit())
    });
    let is_tv = ["集数", "首播", "季数", "单集片长"]
        .iter()
        .any(|l| info.iter().any(|(label, _)| label == l));

    let mut out = Map::new();
    out.insert("douban_id".into(), id.into());
    out.insert("title".into(), title.into());
    out.insert("original_title".into(), nullable(original));
    out.insert("full_title".into(), full_title.into());
    out.insert("aka".into(), list("又名").into());
    out.insert("year".into(), nullable(year));
    out.insert(
        "media_type".into(),
        (if is_tv { "tv" } else { "movie" }).into(),
    );
    out.insert("rating".into(), nullable(rating));
    out.insert("votes".into(), nullable(votes));
    out.insert("directors".into(), directors.into());
    out.insert("writers".into(), list("编剧").into());
    out.insert("actors".into(), actors.into());
    out.insert("genres".into(), genres.into());
    out.insert("countries".into(), list("制片国家/地区").into());
    out.insert("languages".into(), list("语言").into());
    out.insert("release_dates".into(), release_dates.into());
    out.insert("runtime".into(), nullable(runtime));
    out.insert("runtime_minutes".into(), nullable(runtime_minutes));
    out.insert(
        "episode_count".into(),
        nullable(line("集数").as_deref().and_then(leading_number)),
    );
    out.insert("summary".into(), nullable(summary));
    out.insert("poster_url".into(), nullable(poster));
    out.insert("imdb_id".into(), nullable(imdb));
    Ok(Value::Object(out))
}

/// The suggest array, one shape per item. Series come back as `"movie"`
/// with a non-empty `episode`: they become `"tv"`.
fn normalise_suggest(raw: &Value) -> Result<Value, String> {
    let items = raw.as_array().ok_or("suggest answer is not a JSON array")?;
    let field = |item: &Value, name: &str| {
        item.get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
    };
    let out: Vec<Value> = items
        .iter()
        .filter_map(|item| {
            let id = field(item, "id")?;
            let episode = field(item, "episode");
            let media_type = match field(item, "type").as_deref() {
                Some("movie") | None if episode.is_some() => "tv".to_string(),
                Some(other) => other.to_string(),
                None => "movie".to_string(),
            };
            let url = field(item, "url").map(|u| match u.split_once('?') {
                Some((bare, _)) => bare.to_string(),
                None => u,
            });
            Some(json!({
                "douban_id": id,
                "title": nullable(field(item, "title")),
                "original_title": nullable(field(item, "sub_title")),
                "year": nullable(field(item, "year").and_then(|y| y.parse::<u64>().ok())),
                "media_type": media_type,
                "episode_count": nullable(episode.and_then(|e| e.parse::<u64>().ok())),
                "poster_url": nullable(field(item, "img")),
                "url": nullable(url),
            }))
        })
        .collect();
    Ok(Value::Array(out))
}

#[cfg(test)]
mod tests;
