//! The shared rate limiter, computed on the database clock.

use std::time::{Duration, Instant};

use larder_jobs::provider::Rate;
use larder_jobs::rate::RateLimiter;

use crate::helpers::*;

#[tokio::test]
async fn reservations_are_spaced_across_limiters_sharing_a_database() {
    let db = TestDb::new().await;
    // Two "workers": separate pools, one table.
    let a = RateLimiter::new(larder_jobs::db::pool(&db.url, 2).unwrap());
    let b = RateLimiter::new(larder_jobs::db::pool(&db.url, 2).unwrap());
    let started = Instant::now();
    let mut slots = Vec::new();
    for i in 0..40 {
        let limiter = if i % 2 == 0 { &a } else { &b };
        let wait = limiter
            .reserve("p", &Rate::per_second(20, 1))
            .await
            .unwrap()
            .wait;
        // When this call may go, relative to the start.
        slots.push(started.elapsed() + wait);
    }
    slots.sort();
    // A slot measured here is the database's slot plus one reply's latency,
    // so compare cumulatively: the k-th call cannot go before k intervals
    // after the first, give or take one reply (100 ms under heavy load).
    let interval = Duration::from_millis(50);
    for (k, slot) in slots.iter().enumerate() {
        let earliest = (interval * k as u32).saturating_sub(Duration::from_millis(100));
        assert!(
            *slot - slots[0] >= earliest,
            "call {k} at {:?}",
            *slot - slots[0]
        );
    }
    let span = slots[39] - slots[0];
    assert!(span >= Duration::from_millis(1850), "span {span:?}");
    db.drop_db().await;
}

#[tokio::test]
async fn burst_goes_at_once_and_a_pause_holds_everyone() {
    let db = TestDb::new().await;
    let limiter = RateLimiter::new(db.pool.clone());
    // 1 call/s with a burst of 5: five go at once, the sixth waits ~1 s.
    for _ in 0..5 {
        assert_eq!(
            limiter
                .reserve("q", &Rate::per_second(1, 5))
                .await
                .unwrap()
                .wait,
            Duration::ZERO
        );
    }
    let sixth = limiter
        .reserve("q", &Rate::per_second(1, 5))
        .await
        .unwrap()
        .wait;
    assert!(sixth > Duration::from_millis(500), "{sixth:?}");
    let paused_at = Instant::now();
    limiter.pause("q", Duration::from_secs(3)).await.unwrap();
    let wait = limiter
        .reserve("q", &Rate::per_second(1, 5))
        .await
        .unwrap()
        .wait;
    // The slot is 3 s after the pause, however long the two calls took.
    let slot = paused_at.elapsed() + wait;
    assert!(
        slot >= Duration::from_millis(2950),
        "{wait:?} after {:?}",
        paused_at.elapsed()
    );
    // Another provider is not affected.
    assert_eq!(
        limiter
            .reserve("other", &Rate::per_second(10, 5))
            .await
            .unwrap()
            .wait,
        Duration::ZERO
    );
    db.drop_db().await;
}

#[tokio::test]
async fn only_the_last_slot_goes_back() {
    let db = TestDb::new().await;
    let limiter = RateLimiter::new(db.pool.clone());
    let rate = Rate::per_second(1, 1);
    let first = limiter.reserve("r", &rate).await.unwrap();
    let second = limiter.reserve("r", &rate).await.unwrap();
    let third = limiter.reserve("r", &rate).await.unwrap();
    assert!(third.wait > second.wait && second.wait > first.wait);
    // A slot in the middle cannot go back: the next call would share the
    // third one's time.
    assert!(!limiter.release("r", &rate, second.mark).await.unwrap());
    // The last one can, and the next reservation takes its place.
    assert!(limiter.release("r", &rate, third.mark).await.unwrap());
    let again = limiter.reserve("r", &rate).await.unwrap();
    assert_eq!(again.mark, third.mark, "the handed-back slot is reused");
    db.drop_db().await;
}
