//! MusicBrainz against fixtures from its public documentation.

use std::time::Duration;

use crate::helpers::*;

const NIRVANA: &str = "5b11f4ce-a62d-471e-81fc-a69a8278c7da";

#[tokio::test]
async fn lookups_and_searches_carry_the_user_agent_and_ask_for_json() {
    let app = TestApp::spawn().await;
    app.upstream.route(
        &format!("/ws/2/artist/{NIRVANA}"),
        Step::file(200, "musicbrainz/artist.json"),
    );
    app.upstream.route(
        "/ws/2/release-group",
        Step::file(200, "musicbrainz/search-release-group.json"),
    );
    let r = app
        .get(&format!(
            "/v1/musicbrainz/artist/{NIRVANA}?inc=url-rels,aliases"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("90s US grunge band"));
    // One call a second: the second fill waits for its slot.
    let r = app
        .get("/v1/musicbrainz/search/release-group?query=artist:nirvana%20AND%20releasegroup:nevermind&limit=1")
        .header("prefer", "wait=20")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("\"Nevermind\""));

    let hits = app.upstream.hits();
    assert_eq!(hits.len(), 2);
    for h in &hits {
        assert_eq!(h.user_agent.as_deref(), Some("test-user_agent"));
        assert!(h.query.ends_with("fmt=json"), "{}", h.query);
    }
    assert_eq!(hits[0].path, format!("/ws/2/artist/{NIRVANA}"));
    assert_eq!(hits[0].query, "inc=aliases+url-rels&fmt=json");
    assert_eq!(hits[1].path, "/ws/2/release-group");
    assert_eq!(
        hits[1].query,
        "limit=1&query=artist%3Anirvana+AND+releasegroup%3Anevermind&fmt=json"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_503_pauses_musicbrainz_and_the_fill_is_retried() {
    let app = TestApp::spawn().await;
    let up = format!("/ws/2/artist/{NIRVANA}");
    app.upstream
        .script(&up, [Step::file(503, "musicbrainz/503.json")]);
    app.upstream
        .route(&up, Step::file(200, "musicbrainz/artist.json"));
    let r = app
        .get(&format!("/v1/musicbrainz/artist/{NIRVANA}"))
        .header("prefer", "wait=20")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Nirvana"));
    let hits = app.upstream.hits();
    assert_eq!(hits.len(), 2);
    // The lane was paused for every worker...
    assert_eq!(
        app.db
            .count(
                "SELECT count(*) FROM larder_rate WHERE provider = 'musicbrainz' \
                 AND paused_until > now() - interval '1 minute'"
            )
            .await,
        1
    );
    // ...and the call was made again after it, not after a retry backoff.
    // (Not asserted to the full second: a deferred job can start up to a
    // second early, as the queue schedules in whole seconds.)
    let gap = hits[1].at - hits[0].at;
    assert!(gap >= Duration::from_millis(500), "retried after {gap:?}");
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM larder_cache WHERE status = 200")
            .await,
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn an_unknown_mbid_is_negatively_cached() {
    let app = TestApp::spawn().await;
    let missing = "00000000-0000-0000-0000-000000000000";
    app.upstream.route(
        &format!("/ws/2/recording/{missing}"),
        Step::file(404, "musicbrainz/404.json"),
    );
    for _ in 0..3 {
        let r = app
            .get(&format!("/v1/musicbrainz/recording/{missing}?inc=isrcs"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        assert_eq!(error_code(r).await, "upstream-not-found");
    }
    assert_eq!(app.upstream.count(), 1, "404 remembered");
    app.stop().await;
}

#[tokio::test]
async fn without_a_user_agent_musicbrainz_is_disabled() {
    assert_disabled(
        &format!("/v1/musicbrainz/artist/{NIRVANA}"),
        "MUSICBRAINZ_USER_AGENT",
    )
    .await;
}
