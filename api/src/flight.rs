//! Process-local coalescing of fills. However many requests in this process
//! miss one key at once, they share one [`Flight`]: one enqueue round trip,
//! one wait on the fill notification, one read of the stored entry.
//!
//! The flight is registered *before* its enqueue, and the listener routes
//! notifications to registered flights, so a fill that lands at any moment
//! after registration wakes it. One that landed before is seen by the
//! enqueue's re-check under the key's advisory lock (see `larder_jobs::store`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use larder_jobs::job::FetchReason;
use larder_jobs::key::CacheKey;
use larder_jobs::names;
use larder_jobs::store::{Enqueued, FailKind, Failure, FillNotice, INFLIGHT_ABANDONED};
use tokio::sync::{mpsc, watch};

use crate::hot::HotEntry;
use crate::state::State;

/// How long a flight waits for its fill before giving up on it: as long as
/// the fill record may stand before it is presumed abandoned, and a little
/// more. (Callers give up far sooner: their wait budget is at most 30 s.)
const FLIGHT_MAX: Duration = Duration::from_secs(INFLIGHT_ABANDONED.as_secs() + 30);

/// How a fill ended, as seen by its waiters.
#[derive(Debug, Clone)]
pub enum FillResult {
    Entry(Arc<HotEntry>),
    Failed(Failure),
    /// The database could not be reached to enqueue or read.
    Unavailable,
    /// The database had no connection free to enqueue or read.
    Busy,
    /// No word within [`FLIGHT_MAX`] (or the entry vanished right after).
    Expired,
    /// This process follows as many fills as it may: nothing was enqueued.
    Overloaded,
    /// The provider's queue is full: nothing was enqueued.
    QueueFull,
}

#[derive(Debug, Clone)]
pub enum FlightState {
    /// The enqueue transaction has not committed yet.
    Enqueuing,
    /// Enqueued (or joined); waiting for the fill.
    Waiting,
    Done(FillResult),
}

/// What the listener tells a flight.
#[derive(Debug, Clone, Copy)]
pub enum Signal {
    Notice(FillNotice),
    /// The listener reconnected: notifications may have been missed.
    Recheck,
}

pub struct Flight {
    /// The map is keyed by the key's 64-bit hash; two keys with one hash
    /// must never share a flight (one would be answered with the other's
    /// entry).
    key: CacheKey,
    /// Callers may join without reading the database first: the flight was
    /// started for a key with no entry at all (see [`Flights::join_miss`]).
    blind_join: bool,
    state: watch::Sender<FlightState>,
    signals: mpsc::UnboundedSender<Signal>,
}

#[derive(Default)]
pub struct Flights {
    map: DashMap<u64, Arc<Flight>>,
}

impl Flights {
    /// Join the flight for `key`, starting it if there is none. Returns a
    /// receiver of its state. `had_entry`: the caller saw an entry (stale,
    /// or kept for errors), so later callers must read it too rather than
    /// join blindly.
    pub fn join(
        &self,
        state: &Arc<State>,
        key: &CacheKey,
        reason: FetchReason,
        had_entry: bool,
    ) -> watch::Receiver<FlightState> {
        use dashmap::mapref::entry::Entry;
        // Counted before taking the entry: `len` reads every shard, and the
        // entry holds one of them.
        let in_flight = self.map.len();
        match self.map.entry(key.hash()) {
            Entry::Occupied(f) if f.get().key == *key => {
                metrics::counter!(names::FILLS_COALESCED, "provider" => key.provider().to_owned())
                    .increment(1);
                f.get().state.subscribe()
            }
            Entry::Occupied(_) => {
                // Another key with the same hash is filling in this process:
                // this caller is told the fill is unavailable for now
                // rather than handed the other key's answer.
                tracing::warn!(key = %key, "key hash collides with a fill under way");
                watch::channel(FlightState::Done(FillResult::Unavailable)).1
            }
            Entry::Vacant(_) if in_flight >= state.config.max_flights => {
                tracing::warn!(flights = in_flight, "flight cap reached; miss refused");
                watch::channel(FlightState::Done(FillResult::Overloaded)).1
            }
            Entry::Vacant(slot) => {
                let (state_tx, state_rx) = watch::channel(FlightState::Enqueuing);
                let (sig_tx, sig_rx) = mpsc::unbounded_channel();
                let flight = Arc::new(Flight {
                    key: key.clone(),
                    blind_join: reason == FetchReason::Miss && !had_entry,
                    state: state_tx,
                    signals: sig_tx,
                });
                slot.insert(flight.clone());
                // In the request's span: the fill it enqueues joins its trace.
                tokio::spawn(tracing::Instrument::in_current_span(drive(
                    state.clone(),
                    key.clone(),
                    reason,
                    flight,
                    sig_rx,
                )));
                state_rx
            }
        }
    }

    /// Join a fill already under way in this process for a key that had no
    /// entry, without asking the database first: when 200 callers miss one
    /// key at once, only the first reads and enqueues. (Where an entry
    /// exists, callers must read it: it may be served stale.)
    pub fn join_miss(&self, key: &CacheKey) -> Option<watch::Receiver<FlightState>> {
        let f = self.map.get(&key.hash())?;
        if f.key != *key || !f.blind_join || matches!(*f.state.borrow(), FlightState::Done(_)) {
            return None;
        }
        metrics::counter!(names::FILLS_COALESCED, "provider" => key.provider().to_owned())
            .increment(1);
        Some(f.state.subscribe())
    }

    /// Route a notification to the flight of `hash`, if this process has one.
    pub fn signal(&self, hash: u64, signal: Signal) {
        if let Some(f) = self.map.get(&hash) {
            let _ = f.signals.send(signal);
        }
    }

    pub fn recheck_all(&self) {
        for f in self.map.iter() {
            let _ = f.signals.send(Signal::Recheck);
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Wait up to `budget` for a flight to finish. `None`: still going.
///
/// With no budget, still wait (up to 5 s) for the enqueue to commit: a 202
/// must mean the fill really is under way.
pub async fn wait(mut rx: watch::Receiver<FlightState>, budget: Duration) -> Option<FillResult> {
    const ENQUEUE_MAX: Duration = Duration::from_secs(5);
    let started = Instant::now();
    let (limit, enqueued_is_enough) = if budget.is_zero() {
        (ENQUEUE_MAX, true)
    } else {
        (budget, false)
    };
    let settled = move |s: &FlightState| match s {
        FlightState::Done(_) => true,
        FlightState::Waiting => enqueued_is_enough,
        FlightState::Enqueuing => false,
    };
    // A dropped driver or the time limit both leave the fill "still going".
    let _ = tokio::time::timeout(limit, rx.wait_for(settled)).await;
    let result = match &*rx.borrow() {
        FlightState::Done(r) => Some(r.clone()),
        _ => None,
    };
    metrics::histogram!(names::FILL_WAIT).record(started.elapsed().as_secs_f64());
    result
}

async fn drive(
    state: Arc<State>,
    key: CacheKey,
    reason: FetchReason,
    flight: Arc<Flight>,
    mut signals: mpsc::UnboundedReceiver<Signal>,
) {
    /// Removes the flight from the map however the driver ends (even by a
    /// panic), so a key can never be stuck behind a dead flight.
    struct Deregister<'a>(&'a State, u64, &'a Arc<Flight>);
    impl Drop for Deregister<'_> {
        fn drop(&mut self) {
            self.0
                .flights
                .map
                .remove_if(&self.1, |_, f| Arc::ptr_eq(f, self.2));
        }
    }
    let guard = Deregister(&state, key.hash(), &flight);
    let result = tokio::time::timeout(
        FLIGHT_MAX,
        run_flight(&state, &key, reason, &flight, &mut signals),
    )
    .await
    .unwrap_or(FillResult::Expired);
    drop(guard);
    flight.state.send_replace(FlightState::Done(result));
}

async fn run_flight(
    state: &State,
    key: &CacheKey,
    reason: FetchReason,
    flight: &Flight,
    signals: &mut mpsc::UnboundedReceiver<Signal>,
) -> FillResult {
    let generation = state.hot.generation();
    // The database calls are boxed: their futures are large and live only
    // while they run, so a flight that waits (most of its life, and up to
    // `max_flights` of them at once) keeps only its small waiting state.
    let trace = larder_jobs::trace::traceparent(&tracing::Span::current());
    match Box::pin(state.store.enqueue_traced(key, reason, trace)).await {
        Ok(Enqueued::Fresh(entry)) => {
            return cache_entry(state, generation, key, &entry);
        }
        Ok(Enqueued::Joined) => {
            metrics::counter!(names::FILLS_COALESCED, "provider" => key.provider().to_owned())
                .increment(1);
        }
        Ok(Enqueued::Started) => {}
        Ok(Enqueued::Full) => return FillResult::QueueFull,
        Err(e) if e.is_overloaded() => {
            tracing::warn!(error = %e, "enqueue shed: the database is busy");
            return FillResult::Busy;
        }
        Err(e) => {
            tracing::warn!(error = %e, "enqueue failed");
            return FillResult::Unavailable;
        }
    }
    tracing::debug!(key = %key, "fill enqueued; waiting");
    flight.state.send_replace(FlightState::Waiting);
    loop {
        tokio::select! {
            signal = signals.recv() => match signal {
                Some(Signal::Notice(FillNotice::Stored)) => {
                    tracing::debug!(key = %key, "fill notice received");
                    return Box::pin(read_entry(state, key)).await;
                }
                Some(Signal::Notice(FillNotice::Failed(failure))) => match Box::pin(state.store.in_flight(key)).await {
                    // Another fill of this key is under way (this notice was
                    // an earlier fill's): wait for that one.
                    Ok(true) => continue,
                    Ok(false) | Err(_) => return FillResult::Failed(failure),
                },
                Some(Signal::Recheck) => match Box::pin(state.store.in_flight(key)).await {
                    Ok(false) => return Box::pin(read_entry(state, key)).await,
                    Ok(true) | Err(_) => continue,
                },
                None => return FillResult::Expired,
            },
        }
    }
}

async fn read_entry(state: &State, key: &CacheKey) -> FillResult {
    let generation = state.hot.generation();
    match state.store.lookup(key).await {
        Ok(Some(entry)) => cache_entry(state, generation, key, &entry),
        Ok(None) => FillResult::Expired,
        Err(e) => {
            tracing::warn!(error = %e, "reading a filled entry failed");
            if e.is_overloaded() {
                FillResult::Busy
            } else {
                FillResult::Unavailable
            }
        }
    }
}

/// The result for an entry read after a fill, remembered in the hot cache.
/// An entry past every window means the fill did not store (we missed its
/// failure while the listener was away).
fn cache_entry(
    state: &State,
    generation: u64,
    key: &CacheKey,
    entry: &larder_jobs::store::Entry,
) -> FillResult {
    if entry.keep_until.timestamp_millis() <= crate::hot::now_millis() {
        return FillResult::Failed(FailKind::Upstream.into());
    }
    state
        .hot
        .remember(generation, key, entry)
        .map_or(FillResult::Expired, FillResult::Entry)
}
