//! Every hot-list source: its host, its call, how its answer reads.

use super::pages;
use super::sources::{JsonList, Link, Parse, Source, json};

use Link::{Field, Template};

macro_rules! hosts {
    ($($id:literal => $url:literal,)*) => {
        /// Each source's host: `LARDER_HOT_<SOURCE>_BASE_URL`.
        pub const HOSTS: &[super::Host] = &[
            super::Host { name: "", urls: &["https://weibo.com"] },
            $(super::Host { name: $id, urls: &[$url] },)*
        ];
        /// Every source id.
        pub const IDS: &[&str] = &[$($id,)*];
    };
}

hosts! {
    "weibo" => "https://weibo.com",
    "zhihu" => "https://api.zhihu.com",
    "bilibili" => "https://api.bilibili.com",
    "baidu" => "https://top.baidu.com",
    "toutiao" => "https://www.toutiao.com",
    "github" => "https://github.com",
    "hackernews" => "https://news.ycombinator.com",
    "v2ex" => "https://www.v2ex.com",
    "ithome" => "https://m.ithome.com",
    "36kr" => "https://gateway.36kr.com",
    "sspai" => "https://sspai.com",
    "juejin" => "https://api.juejin.cn",
    "tieba" => "https://tieba.baidu.com",
    "thepaper" => "https://cache.thepaper.cn",
    "netease-news" => "https://m.163.com",
    "qq-news" => "https://r.inews.qq.com",
    "sina" => "https://newsapp.sina.cn",
    "zhihu-daily" => "https://daily.zhihu.com",
    "lol" => "https://apps.game.qq.com",
    "weatheralarm" => "http://www.nmc.cn",
    "earthquake" => "https://news.ceic.ac.cn",
    "nytimes" => "https://cn.nytimes.com",
    "hostloc" => "https://hostloc.com",
    "douban-group" => "https://www.douban.com",
    "ithome-xijiayi" => "https://www.ithome.com",
    "producthunt" => "https://www.producthunt.com",
    "acfun" => "https://www.acfun.cn",
    "hupu" => "https://m.hupu.com",
    "csdn" => "https://blog.csdn.net",
    "hellogithub" => "https://abroad.hellogithub.com",
    "ifanr" => "https://sso.ifanr.com",
    "dgtle" => "https://opser.api.dgtle.com",
    "guokr" => "https://www.guokr.com",
    "smzdm" => "https://post.smzdm.com",
    "genshin" => "https://bbs-api-static.miyoushe.com",
    "yystv" => "https://www.yystv.cn",
    "nodeseek" => "https://rss.nodeseek.com",
    "linuxdo" => "https://linux.do",
    "douyin" => "https://www.douyin.com",
}

const fn get(
    id: &'static str,
    title: &'static str,
    category: &'static str,
    path: &'static str,
    parse: Parse,
) -> Source {
    Source {
        id,
        title,
        category,
        path,
        body: None,
        headers: &[],
        cookie: None,
        prelude: None,
        parse,
    }
}

pub static SOURCES: &[Source] = &[
    Source {
        headers: &[("referer", "https://weibo.com/")],
        ..get(
            "weibo",
            "微博",
            "热搜榜",
            "/ajax/side/hotSearch",
            Parse::Json(JsonList {
                desc: Some("note"),
                hot: Some("num"),
                timestamp: Some("onboard_time"),
                // Promoted entries (荐).
                skip: &[("is_ad", "1")],
                ..json(
                    "data.realtime",
                    "mid",
                    "word",
                    Template("https://s.weibo.com/weibo?q=%23{word}%23"),
                )
            }),
        )
    },
    Source {
        cookie: Some("zhihu_cookie"),
        ..get(
            "zhihu",
            "知乎",
            "热榜",
            "/topstory/hot-lists/total?limit=50",
            Parse::Json(JsonList {
                desc: Some("target.excerpt"),
                hot: Some("detail_text"),
                cover: Some("children.0.thumbnail"),
                timestamp: Some("target.created"),
                ..json(
                    "data",
                    "target.id",
                    "target.title",
                    Template("https://www.zhihu.com/question/{target.id}"),
                )
            }),
        )
    },
    Source {
        headers: &[("referer", "https://www.bilibili.com/ranking/all")],
        ..get(
            "bilibili",
            "哔哩哔哩",
            "热榜",
            "/x/web-interface/ranking/v2?rid=0&type=all",
            Parse::Json(JsonList {
                mobile_url: Some(Template("https://m.bilibili.com/video/{bvid}")),
                desc: Some("desc"),
                hot: Some("stat.view"),
                cover: Some("pic"),
                author: Some("owner.name"),
                timestamp: Some("pubdate"),
                ..json(
                    "data.list",
                    "bvid",
                    "title",
                    Template("https://www.bilibili.com/video/{bvid}"),
                )
            }),
        )
    },
    get(
        "baidu",
        "百度",
        "热搜",
        "/board?tab=realtime",
        Parse::Page(pages::baidu),
    ),
    get(
        "toutiao",
        "今日头条",
        "热榜",
        "/hot-event/hot-board/?origin=toutiao_pc",
        Parse::Json(JsonList {
            mobile_url: Some(Template(
                "https://api.toutiaoapi.com/feoffline/amos_land/new/html/main/index.html?topic_id={ClusterIdStr}",
            )),
            hot: Some("HotValue"),
            cover: Some("Image.url"),
            ..json(
                "data",
                "ClusterIdStr",
                "Title",
                Template("https://www.toutiao.com/trending/{ClusterIdStr}/"),
            )
        }),
    ),
    get(
        "github",
        "GitHub",
        "Trending",
        "/trending?since=daily",
        Parse::Page(pages::github),
    ),
    get(
        "hackernews",
        "Hacker News",
        "Popular",
        "/",
        Parse::Page(pages::hackernews),
    ),
    get(
        "v2ex",
        "V2EX",
        "主题榜",
        "/api/topics/hot.json",
        Parse::Json(JsonList {
            desc: Some("content"),
            hot: Some("replies"),
            author: Some("member.username"),
            timestamp: Some("created"),
            ..json("", "id", "title", Field("url"))
        }),
    ),
    Source {
        headers: &[("referer", "https://m.ithome.com/")],
        ..get(
            "ithome",
            "IT之家",
            "热榜",
            "/rankm/",
            Parse::Page(pages::ithome),
        )
    },
    Source {
        body: Some(r#"{"partner_id":"wap","param":{"siteId":1,"platformId":2}}"#),
        ..get(
            "36kr",
            "36氪",
            "人气榜",
            "/api/mis/nav/home/nav/rank/hot",
            Parse::Json(JsonList {
                mobile_url: Some(Template("https://m.36kr.com/p/{itemId}")),
                hot: Some("templateMaterial.statCollect"),
                cover: Some("templateMaterial.widgetImage"),
                author: Some("templateMaterial.authorName"),
                timestamp: Some("publishTime"),
                ..json(
                    "data.hotRankList",
                    "itemId",
                    "templateMaterial.widgetTitle",
                    Template("https://www.36kr.com/p/{itemId}"),
                )
            }),
        )
    },
    get(
        "sspai",
        "少数派",
        "热榜",
        "/api/v1/article/tag/page/get?limit=40&tag=%E7%83%AD%E9%97%A8%E6%96%87%E7%AB%A0",
        Parse::Json(JsonList {
            desc: Some("summary"),
            hot: Some("like_count"),
            cover: Some("banner"),
            author: Some("author.nickname"),
            timestamp: Some("released_time"),
            ..json(
                "data",
                "id",
                "title",
                Template("https://sspai.com/post/{id}"),
            )
        }),
    ),
    get(
        "juejin",
        "稀土掘金",
        "文章榜",
        "/content_api/v1/content/article_rank?category_id=1&type=hot",
        Parse::Json(JsonList {
            hot: Some("content_counter.hot_rank"),
            author: Some("author.name"),
            ..json(
                "data",
                "content.content_id",
                "content.title",
                Template("https://juejin.cn/post/{content.content_id}"),
            )
        }),
    ),
    get(
        "tieba",
        "百度贴吧",
        "热议榜",
        "/hottopic/browse/topicList",
        Parse::Json(JsonList {
            desc: Some("topic_desc"),
            hot: Some("discuss_num"),
            cover: Some("topic_pic"),
            timestamp: Some("create_time"),
            ..json(
                "data.bang_topic.topic_list",
                "topic_id",
                "topic_name",
                Field("topic_url"),
            )
        }),
    ),
    get(
        "thepaper",
        "澎湃新闻",
        "热榜",
        "/contentapi/wwwIndex/rightSidebar",
        Parse::Json(JsonList {
            mobile_url: Some(Template(
                "https://m.thepaper.cn/newsDetail_forward_{contId}",
            )),
            hot: Some("praiseTimes"),
            cover: Some("pic"),
            timestamp: Some("pubTimeLong"),
            ..json(
                "data.hotNews",
                "contId",
                "name",
                Template("https://www.thepaper.cn/newsDetail_forward_{contId}"),
            )
        }),
    ),
    get(
        "netease-news",
        "网易新闻",
        "热点榜",
        "/fe/api/hot/news/flow",
        Parse::Json(JsonList {
            mobile_url: Some(Template("https://m.163.com/dy/article/{docid}.html")),
            cover: Some("imgsrc"),
            author: Some("source"),
            ..json(
                "data.list",
                "docid",
                "title",
                Template("https://www.163.com/dy/article/{docid}.html"),
            )
        }),
    ),
    get(
        "qq-news",
        "腾讯新闻",
        "热点榜",
        "/gw/event/hot_ranking_list?page_size=50",
        Parse::Json(JsonList {
            mobile_url: Some(Template("https://view.inews.qq.com/k/{id}")),
            desc: Some("abstract"),
            hot: Some("hotEvent.hotScore"),
            cover: Some("miniProShareImage"),
            author: Some("source"),
            timestamp: Some("timestamp"),
            // The list's own banner comes first.
            skip: &[("articletype", "560")],
            ..json(
                "idlist.0.newslist",
                "id",
                "title",
                Template("https://new.qq.com/rain/a/{id}"),
            )
        }),
    ),
    get(
        "sina",
        "新浪",
        "热榜",
        "/api/hotlist?newsId=HB-1-snhs%2Ftop_news_list-all",
        Parse::Json(JsonList {
            hot: Some("info.hotValue"),
            ..json(
                "data.hotList",
                "base.base.uniqueId",
                "info.title",
                Field("base.base.url"),
            )
        }),
    ),
    Source {
        headers: &[("referer", "https://daily.zhihu.com/api/4/news/latest")],
        ..get(
            "zhihu-daily",
            "知乎日报",
            "推荐榜",
            "/api/4/news/latest",
            Parse::Json(JsonList {
                cover: Some("images.0"),
                author: Some("hint"),
                only: &[("type", "0")],
                ..json("stories", "id", "title", Field("url"))
            }),
        )
    },
    get(
        "lol",
        "英雄联盟",
        "更新公告",
        "/cmc/zmMcnTargetContentList?r0=json&page=1&num=30&target=24&source=web_pc",
        Parse::Json(JsonList {
            cover: Some("sIMG"),
            author: Some("sAuthor"),
            hot: Some("iTotalPlay"),
            ..json(
                "data.result",
                "iDocID",
                "sTitle",
                Template("https://lol.qq.com/news/detail.shtml?docid={iDocID}"),
            )
        }),
    ),
    get(
        "weatheralarm",
        "中央气象台",
        "气象预警",
        "/rest/findAlarm?pageNo=1&pageSize=20&signaltype=&signallevel=&province=",
        Parse::Json(JsonList {
            cover: Some("pic"),
            desc: Some("issuetime"),
            ..json(
                "data.page.list",
                "alertid",
                "title",
                Template("http://www.nmc.cn{!url}"),
            )
        }),
    ),
    get(
        "earthquake",
        "中国地震台",
        "地震速报",
        "/speedsearch.html",
        Parse::Page(pages::earthquake),
    ),
    get(
        "nytimes",
        "纽约时报",
        "中文网",
        "/rss/",
        Parse::Page(pages::rss),
    ),
    get(
        "hostloc",
        "全球主机交流",
        "最新热门",
        "/forum.php?mod=guide&view=hot&rss=1",
        Parse::Page(pages::rss),
    ),
    get(
        "douban-group",
        "豆瓣讨论",
        "讨论精选",
        "/group/explore",
        Parse::Page(pages::douban_group),
    ),
    get(
        "ithome-xijiayi",
        "IT之家「喜加一」",
        "最新动态",
        "/zt/xijiayi",
        Parse::Page(pages::ithome_xijiayi),
    ),
    get(
        "producthunt",
        "Product Hunt",
        "Today",
        "/",
        Parse::Page(pages::producthunt),
    ),
    Source {
        headers: &[(
            "referer",
            "https://www.acfun.cn/rank/list/?cid=-1&pcid=-1&range=DAY",
        )],
        ..get(
            "acfun",
            "AcFun",
            "排行榜",
            "/rest/pc-direct/rank/channel?channelId=&rankLimit=30&rankPeriod=DAY",
            Parse::Json(JsonList {
                mobile_url: Some(Template("https://m.acfun.cn/v/?ac={dougaId}")),
                desc: Some("contentDesc"),
                hot: Some("likeCount"),
                cover: Some("coverUrl"),
                author: Some("userName"),
                timestamp: Some("contributeTime"),
                ..json(
                    "rankList",
                    "dougaId",
                    "contentTitle",
                    Template("https://www.acfun.cn/v/ac{dougaId}"),
                )
            }),
        )
    },
    get(
        "hupu",
        "虎扑",
        "步行街热帖",
        "/api/v2/bbs/topicThreads?topicId=1&page=1",
        Parse::Json(JsonList {
            hot: Some("replies"),
            author: Some("username"),
            ..json(
                "data.topicThreads",
                "tid",
                "title",
                Template("https://bbs.hupu.com/{tid}.html"),
            )
        }),
    ),
    get(
        "csdn",
        "CSDN",
        "排行榜",
        "/phoenix/web/blog/hot-rank?page=0&pageSize=30",
        Parse::Json(JsonList {
            hot: Some("hotRankScore"),
            cover: Some("picList.0"),
            author: Some("nickName"),
            ..json(
                "data",
                "productId",
                "articleTitle",
                Field("articleDetailUrl"),
            )
        }),
    ),
    get(
        "hellogithub",
        "HelloGitHub",
        "热门仓库",
        "/v1/?sort_by=featured&tid=&page=1",
        Parse::Json(JsonList {
            desc: Some("summary"),
            hot: Some("clicks_total"),
            author: Some("author"),
            ..json(
                "data",
                "item_id",
                "title",
                Template("https://hellogithub.com/repository/{item_id}"),
            )
        }),
    ),
    get(
        "ifanr",
        "爱范儿",
        "快讯",
        "/api/v5/wp/buzz/?limit=20&offset=0",
        Parse::Json(JsonList {
            desc: Some("post_content"),
            hot: Some("like_count"),
            timestamp: Some("created_at"),
            ..json(
                "objects",
                "id",
                "post_title",
                Template("https://www.ifanr.com/{post_id}"),
            )
        }),
    ),
    get(
        "dgtle",
        "数字尾巴",
        "热门文章",
        "/v2/news/index",
        Parse::Json(JsonList {
            mobile_url: Some(Template("https://m.dgtle.com/news-details/{id}")),
            desc: Some("content"),
            hot: Some("membernum"),
            cover: Some("cover"),
            author: Some("from"),
            timestamp: Some("created_at"),
            ..json(
                "items",
                "id",
                "title",
                Template("https://www.dgtle.com/news-{id}-{type}.html"),
            )
        }),
    ),
    get(
        "guokr",
        "果壳",
        "热门文章",
        "/beta/proxy/science_api/articles?limit=30",
        Parse::Json(JsonList {
            mobile_url: Some(Template("https://m.guokr.com/article/{id}")),
            desc: Some("summary"),
            cover: Some("small_image"),
            author: Some("author.nickname"),
            ..json(
                "",
                "id",
                "title",
                Template("https://www.guokr.com/article/{id}"),
            )
        }),
    ),
    get(
        "smzdm",
        "什么值得买",
        "今日热门",
        "/rank/json_more/?unit=1",
        Parse::Json(JsonList {
            desc: Some("content"),
            hot: Some("collection_count"),
            cover: Some("pic_url"),
            author: Some("nickname"),
            timestamp: Some("time_sort"),
            ..json("data", "article_id", "title", Field("jump_link"))
        }),
    ),
    get(
        "genshin",
        "原神",
        "最新动态",
        "/painter/wapi/getNewsList?client_type=4&gids=2&last_id=&page_size=20&type=1",
        Parse::Json(JsonList {
            mobile_url: Some(Template(
                "https://m.miyoushe.com/ys/#/article/{post.post_id}",
            )),
            desc: Some("post.content"),
            cover: Some("post.cover"),
            author: Some("user.nickname"),
            timestamp: Some("post.created_at"),
            ..json(
                "data.list",
                "post.post_id",
                "post.subject",
                Template("https://www.miyoushe.com/ys/article/{post.post_id}"),
            )
        }),
    ),
    get(
        "yystv",
        "游研社",
        "全部文章",
        "/home/get_home_docs_by_page",
        Parse::Json(JsonList {
            cover: Some("cover"),
            author: Some("author"),
            timestamp: Some("createtime"),
            ..json(
                "data",
                "id",
                "title",
                Template("https://www.yystv.cn/p/{id}"),
            )
        }),
    ),
    get("nodeseek", "NodeSeek", "最新", "/", Parse::Page(pages::rss)),
    Source {
        headers: &[(
            "accept",
            "application/rss+xml, application/xml;q=0.9, */*;q=0.8",
        )],
        ..get(
            "linuxdo",
            "Linux.do",
            "热门文章",
            "/top.rss?period=weekly",
            Parse::Page(pages::rss),
        )
    },
    Source {
        prelude: Some((
            "/passport/general/login_guiding_strategy/?aid=6383",
            "passport_csrf_token",
        )),
        ..get(
            "douyin",
            "抖音",
            "热榜",
            "/aweme/v1/web/hot/search/list/?device_platform=webapp&aid=6383&channel=channel_pc_web&detail_list=1",
            Parse::Json(JsonList {
                hot: Some("hot_value"),
                cover: Some("word_cover.url_list.0"),
                timestamp: Some("event_time"),
                ..json(
                    "data.word_list",
                    "sentence_id",
                    "word",
                    Template("https://www.douyin.com/hot/{sentence_id}"),
                )
            }),
        )
    },
];
