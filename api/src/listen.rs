//! The fill listener: one dedicated connection per API process that LISTENs
//! for fill outcomes, purges and key revocations, and routes them to waiting
//! flights and caches. Waiters are woken by these notifications, never by
//! polling. When the connection drops, notifications may be lost, so the hot
//! cache is cleared and every flight re-checks the database on reconnect.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use larder_jobs::provider::overrides::PROVIDERS_CHANNEL;
use larder_jobs::store::{FILL_CHANNEL, FillNotice, KEYS_CHANNEL, PURGE_CHANNEL};
use sqlx::postgres::PgListener;
use tokio::sync::watch;

use crate::flight::Signal;
use crate::state::State;

pub async fn run(state: Arc<State>, mut stop: watch::Receiver<bool>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let connected = async {
            let mut l = PgListener::connect_with(state.store.pool()).await?;
            l.listen_all([FILL_CHANNEL, PURGE_CHANNEL, KEYS_CHANNEL, PROVIDERS_CHANNEL])
                .await?;
            Ok::<_, sqlx::Error>(l)
        };
        let mut listener = tokio::select! {
            _ = stop.changed() => return,
            r = connected => match r {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "fill listener cannot connect; retrying");
                    tokio::select! {
                        _ = stop.changed() => return,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    continue;
                }
            },
        };
        backoff = Duration::from_millis(100);
        // Anything announced while we were deaf is unknown: start clean.
        state.hot.clear();
        if let Some(disk) = &state.disk {
            disk.clear();
        }
        state.grants_generation.fetch_add(1, Ordering::SeqCst);
        state.grants.invalidate_all();
        state.flights.recheck_all();
        state.listener_up.store(true, Ordering::SeqCst);
        tracing::info!("fill listener connected");
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                msg = listener.try_recv() => match msg {
                    Ok(Some(n)) => dispatch(&state, n.channel(), n.payload()),
                    Ok(None) | Err(_) => {
                        state.listener_up.store(false, Ordering::SeqCst);
                        state.hot.clear();
                        if let Some(disk) = &state.disk {
                            disk.clear();
                        }
                        tracing::warn!("fill listener lost its connection; reconnecting");
                        break;
                    }
                },
            }
        }
    }
}

fn dispatch(state: &Arc<State>, channel: &str, payload: &str) {
    match channel {
        FILL_CHANNEL => {
            if let Some((hash, notice)) = FillNotice::parse(payload) {
                // Drop the old copy first; the flight (if any) re-reads.
                state.hot.remove(hash);
                if let Some(disk) = &state.disk {
                    disk.remove(hash);
                }
                state.flights.signal(hash, Signal::Notice(notice));
            }
        }
        PURGE_CHANNEL => {
            state.hot.clear();
            if let Some(disk) = &state.disk {
                disk.clear();
            }
        }
        KEYS_CHANNEL => {
            state.grants_generation.fetch_add(1, Ordering::SeqCst);
            state.grants.invalidate_all();
        }
        PROVIDERS_CHANNEL => {
            let state = state.clone();
            tokio::spawn(async move {
                if let Err(e) = state.overrides.reload(state.store.pool()).await {
                    tracing::debug!(error = %e, "provider overrides not re-read");
                }
            });
        }
        _ => {}
    }
}
