//! Sources read from pages (with the `scraper` HTML parser), from JSON
//! inside a page, or from RSS (the `rss` crate).

use scraper::Html;
use serde_json::Value;

use super::Item;
use super::json::{parse_figure, text as field};
use crate::provider::html::{attr_in, first_text_in, selector, text};

fn item(id: String, title: String, url: String) -> Item {
    Item {
        rank: 0,
        id,
        title,
        url,
        mobile_url: None,
        desc: None,
        hot: None,
        cover: None,
        author: None,
        timestamp: None,
    }
}

/// Baidu's board: the page carries its data as JSON in an HTML comment
/// (`<!--s-data:{…}-->`); the list is `data.cards[0].content` (older
/// pages: `cards[0].content`, or one level deeper).
pub(super) fn baidu(page: &str) -> Result<Vec<Item>, String> {
    let start = page.find("<!--s-data:").ok_or("no s-data in the page")? + "<!--s-data:".len();
    let end = page[start..].find("-->").ok_or("unterminated s-data")? + start;
    let doc: Value =
        serde_json::from_str(&page[start..end]).map_err(|e| format!("s-data is not JSON: {e}"))?;
    let content = ["data.cards.0.content", "cards.0.content"]
        .iter()
        .find_map(|p| super::json::at(&doc, p))
        .ok_or("no cards in s-data")?;
    let list = match content.get(0).and_then(|c| c.get("content")) {
        Some(Value::Array(inner)) => inner,
        _ => content.as_array().ok_or("cards' content is not a list")?,
    };
    Ok(list
        .iter()
        .filter_map(|v| {
            let title = field(v, "word")?;
            let query = field(v, "query").unwrap_or_else(|| title.clone());
            let mut i = item(
                field(v, "index").unwrap_or_default(),
                title,
                format!(
                    "https://www.baidu.com/s?wd={}",
                    form_urlencoded::byte_serialize(query.as_bytes()).collect::<String>()
                ),
            );
            i.mobile_url = field(v, "rawUrl");
            i.desc = field(v, "desc");
            i.cover = field(v, "img");
            i.hot = field(v, "hotScore").and_then(|h| parse_figure(&h));
            Some(i)
        })
        .collect())
}

/// github.com/trending: `article.Box-row`, the repository in `h2 a`.
pub(super) fn github(page: &str) -> Result<Vec<Item>, String> {
    let doc = Html::parse_document(page);
    Ok(doc
        .select(&selector("article.Box-row"))
        .filter_map(|row| {
            let href = attr_in(row, "h2 a", "href")?;
            let name = href.trim_matches('/').to_owned();
            let mut i = item(name.clone(), name, format!("https://github.com{href}"));
            i.desc = first_text_in(row, "p");
            i.hot = first_text_in(row, "a[href$=\"/stargazers\"]").and_then(|s| parse_figure(&s));
            i.author = name_owner(&href);
            Some(i)
        })
        .collect())
}

fn name_owner(href: &str) -> Option<String> {
    href.trim_matches('/').split('/').next().map(String::from)
}

/// news.ycombinator.com: `tr.athing` rows; the score is `#score_{id}` in
/// the row after. A self-post's relative link is made absolute.
pub(super) fn hackernews(page: &str) -> Result<Vec<Item>, String> {
    let doc = Html::parse_document(page);
    Ok(doc
        .select(&selector("tr.athing"))
        .filter_map(|row| {
            let id = row.value().attr("id")?.to_owned();
            let link = row.select(&selector(".titleline > a")).next()?;
            let title = text(link);
            let href = link.value().attr("href").unwrap_or_default();
            let url = if href.starts_with("http") {
                href.to_owned()
            } else {
                format!("https://news.ycombinator.com/item?id={id}")
            };
            let mut i = item(id.clone(), title, url);
            i.mobile_url = Some(format!("https://news.ycombinator.com/item?id={id}"));
            i.hot = doc
                .select(&selector(&format!("#score_{id}")))
                .next()
                .and_then(|s| parse_figure(&text(s)));
            Some(i)
        })
        .collect())
}

/// IT之家's rank page: the day's list (the first `.rank-box`; the page
/// repeats articles in its other boxes).
pub(super) fn ithome(page: &str) -> Result<Vec<Item>, String> {
    let doc = Html::parse_document(page);
    let bx = doc
        .select(&selector(".rank-box"))
        .next()
        .ok_or("no .rank-box")?;
    let mut seen = Vec::new();
    Ok(bx
        .select(&selector(".placeholder"))
        .filter_map(|card| {
            let href = attr_in(card, "a", "href")?;
            let id: String = href
                .rsplit('/')
                .next()?
                .trim_end_matches(".htm")
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            if id.is_empty() || seen.contains(&id) {
                return None;
            }
            seen.push(id.clone());
            let mut i = item(
                id.clone(),
                first_text_in(card, ".plc-title")?,
                format!("https://m.ithome.com/html/{id}.htm"),
            );
            i.cover = attr_in(card, "img", "data-original");
            i.hot = first_text_in(card, ".review-num").and_then(|s| parse_figure(&s));
            Some(i)
        })
        .collect())
}

/// 中国地震台's quick reports: a JS array (`const newdata = […];`) inside
/// the page.
pub(super) fn earthquake(page: &str) -> Result<Vec<Item>, String> {
    let start = page
        .find("const newdata = ")
        .ok_or("no newdata in the page")?
        + "const newdata = ".len();
    let end = page[start..].find("];").ok_or("unterminated newdata")? + start + 1;
    let list: Vec<Value> =
        serde_json::from_str(&page[start..end]).map_err(|e| format!("newdata: {e}"))?;
    Ok(list
        .iter()
        .filter_map(|v| {
            let id = field(v, "NEW_DID")?;
            let place = field(v, "LOCATION_C")?;
            let m = field(v, "M")?;
            let mut i = item(
                id.clone(),
                format!("{place}发生{m}级地震"),
                format!("https://news.ceic.ac.cn/{id}.html"),
            );
            i.desc = Some(format!(
                "发震时刻(UTC+8)：{}\n参考位置：{place}\n震级(M)：{m}\n深度(千米)：{}",
                field(v, "O_TIME").unwrap_or_default(),
                field(v, "EPI_DEPTH").unwrap_or_default()
            ));
            Some(i)
        })
        .collect())
}

/// An RSS 2.0 feed (NYT 中文网, Discuz boards such as hostloc). A page
/// that is not a feed (an anti-bot challenge) reads as no items.
pub(super) fn rss(page: &str) -> Result<Vec<Item>, String> {
    let channel = rss::Channel::read_from(page.as_bytes()).map_err(|e| format!("not RSS: {e}"))?;
    Ok(channel
        .items()
        .iter()
        .enumerate()
        .filter_map(|(n, it)| {
            let url = it.link()?.trim().to_owned();
            let mut i = item(
                it.guid()
                    .map(|g| g.value().to_owned())
                    .unwrap_or_else(|| n.to_string()),
                it.title()?.trim().to_owned(),
                url,
            );
            i.desc = it
                .description()
                .map(|d| d.trim().to_owned())
                .filter(|d| !d.is_empty());
            i.author = it
                .dublin_core_ext()
                .and_then(|dc| dc.creators().first().cloned())
                .or_else(|| it.author().map(String::from));
            i.timestamp = it.pub_date().and_then(httpdate_like);
            Some(i)
        })
        .collect())
}

/// An RFC 822 date as unix seconds.
fn httpdate_like(d: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc2822(d.trim())
        .ok()
        .map(|t| t.timestamp())
}

/// 豆瓣 group explore: `.channel-item`, the topic in `h3 a`.
pub(super) fn douban_group(page: &str) -> Result<Vec<Item>, String> {
    let doc = Html::parse_document(page);
    Ok(doc
        .select(&selector(".channel-item"))
        .filter_map(|it| {
            let url = attr_in(it, "h3 a", "href")?;
            let id: String = url.chars().filter(char::is_ascii_digit).collect();
            let mut i = item(id.clone(), first_text_in(it, "h3 a")?, url);
            i.mobile_url =
                (!id.is_empty()).then(|| format!("https://m.douban.com/group/topic/{id}/"));
            i.desc = first_text_in(it, ".block p");
            i.cover = attr_in(it, ".pic-wrap img", "src");
            Some(i)
        })
        .collect())
}

/// IT之家「喜加一」: `.newslist li`.
pub(super) fn ithome_xijiayi(page: &str) -> Result<Vec<Item>, String> {
    let doc = Html::parse_document(page);
    Ok(doc
        .select(&selector(".newslist li"))
        .filter_map(|li| {
            let url = attr_in(li, "a", "href")?;
            // https://www.ithome.com/0/760/123.htm → 760123
            let digits: Vec<&str> = url.trim_end_matches(".htm").rsplit('/').take(2).collect();
            let id = format!("{}{}", digits.get(1)?, digits.first()?);
            let mut i = item(id.clone(), first_text_in(li, ".newsbody h2")?, url);
            i.mobile_url = Some(format!("https://m.ithome.com/html/{id}.htm"));
            i.desc = first_text_in(li, ".newsbody p");
            i.cover = attr_in(li, "img", "data-original");
            i.hot = first_text_in(li, ".comment").and_then(|s| parse_figure(&s));
            Some(i)
        })
        .collect())
}

/// Product Hunt's home page: today's section, `[data-test^=post-item]`.
pub(super) fn producthunt(page: &str) -> Result<Vec<Item>, String> {
    let doc = Html::parse_document(page);
    Ok(doc
        .select(&selector(
            "[data-test=homepage-section-0] [data-test^=post-item]",
        ))
        .filter_map(|post| {
            let id = post
                .value()
                .attr("data-test")?
                .trim_start_matches("post-item-")
                .to_owned();
            let href = attr_in(post, "a", "href")?;
            let name = first_text_in(post, "a[data-test^=post-name]")?;
            let title = name
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .trim_start_matches('.')
                .trim()
                .to_owned();
            let mut i = item(id, title, format!("https://www.producthunt.com{href}"));
            i.hot = first_text_in(post, "[data-test=vote-button]").and_then(|s| parse_figure(&s));
            Some(i)
        })
        .collect())
}
