//! Database reads of entries the in-process cache does not hold.
//!
//! Two things keep them cheap under load:
//!
//! - **Single flight per key.** When many requests miss the in-process cache
//!   for one key at once (a burst on a cold key), one of them reads the
//!   entry and the rest share its answer: a burst of 200 costs one read,
//!   not 200 queued on the pool ahead of the fill they are about to start.
//! - **Batches across keys.** Reads of different keys go to one task that
//!   sends whatever has queued up as one `WHERE key = ANY($1)` (up to
//!   [`MAX_BATCH`] keys, [`IN_FLIGHT`] batches at once). Nothing waits for a
//!   batch to fill: a read that finds the database idle goes alone, and
//!   reads that arrive while batches are out go together in the next one.
//!   A library scan of 20,000 keys costs a few hundred round trips a second
//!   instead of thousands.

use std::collections::HashMap;
use std::sync::Arc;

use dashmap::DashMap;
use larder_jobs::key::CacheKey;
use larder_jobs::names;
use larder_jobs::store::{Entry, Store};
use tokio::sync::{OnceCell, Semaphore, mpsc, oneshot};

use crate::hot::HotEntry;
use crate::reply::ApiError;
use crate::state::State;

/// Most keys in one read.
const MAX_BATCH: usize = 128;
/// Most batch reads out at once (each holds one pooled connection).
const IN_FLIGHT: usize = 4;
/// Most reads queued for the batcher; past it a read goes alone.
const QUEUE: usize = 8192;

type Shared = Result<Option<Arc<HotEntry>>, ApiError>;
type Read = Result<Option<Entry>, ApiError>;

struct Ask {
    key: CacheKey,
    tx: oneshot::Sender<Read>,
}

pub struct Lookups {
    map: DashMap<u64, Arc<OnceCell<Shared>>>,
    batches: mpsc::Sender<Ask>,
}

impl Lookups {
    /// Start the batcher (on the current runtime) reading from `store`.
    pub fn new(store: Store) -> Lookups {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(batcher(store, rx));
        Lookups {
            map: DashMap::new(),
            batches: tx,
        }
    }

    /// The stored entry for `key` (remembered in the hot cache), read once
    /// for everyone asking at the same moment.
    pub async fn get(&self, state: &State, key: &CacheKey) -> Shared {
        let cell = self.map.entry(key.hash()).or_default().clone();
        let result = cell
            .get_or_init(|| async {
                let generation = state.hot.generation();
                let read = match self.read(state, key).await {
                    Ok(Some(e)) => {
                        let hot = state.hot.remember(generation, key, &e);
                        // Kept on disk too (only if nothing was removed
                        // since the read began, as in memory).
                        if let (Some(disk), Some(hot)) = (&state.disk, &hot) {
                            disk.insert(&state.hot, generation, key.hash(), hot);
                        }
                        Ok(hot)
                    }
                    Ok(None) => Ok(None),
                    Err(e) => Err(e),
                };
                self.map
                    .remove_if(&key.hash(), |_, c| Arc::ptr_eq(c, &cell));
                read
            })
            .await
            .clone();
        // A different key with the same hash shares the cell: check.
        match result {
            Ok(Some(e)) if e.key != key.as_str() => match state.store.lookup(key).await {
                Ok(found) => Ok(found.and_then(|e| HotEntry::from_entry(key.as_str(), &e))),
                Err(e) => Err(ApiError::from(e)),
            },
            other => other,
        }
    }

    /// One key's entry, through the batcher (alone when its queue is full
    /// or it has stopped).
    async fn read(&self, state: &State, key: &CacheKey) -> Read {
        let (tx, rx) = oneshot::channel();
        let ask = Ask {
            key: key.clone(),
            tx,
        };
        if self.batches.try_send(ask).is_ok()
            && let Ok(read) = rx.await
        {
            return read;
        }
        state.store.lookup(key).await.map_err(ApiError::from)
    }
}

async fn batcher(store: Store, mut rx: mpsc::Receiver<Ask>) {
    let permits = Arc::new(Semaphore::new(IN_FLIGHT));
    while let Some(first) = rx.recv().await {
        // While every batch slot is busy, reads queue up for the next one.
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(ask) => batch.push(ask),
                Err(_) => break,
            }
        }
        let store = store.clone();
        tokio::spawn(async move {
            let mut keys: Vec<&str> = batch.iter().map(|a| a.key.as_str()).collect();
            keys.sort_unstable();
            keys.dedup();
            metrics::counter!(names::DB_READ_BATCHES).increment(1);
            metrics::counter!(names::DB_READ_KEYS).increment(keys.len() as u64);
            let read = store.lookup_many(&keys).await;
            drop(permit);
            match read {
                Ok(rows) => {
                    let found: HashMap<String, Entry> = rows.into_iter().collect();
                    for ask in batch {
                        // (A key may be asked twice in one batch, when its
                        // single flight ended in between.)
                        let _ = ask.tx.send(Ok(found.get(ask.key.as_str()).cloned()));
                    }
                }
                Err(e) => {
                    let e = ApiError::from(e);
                    for ask in batch {
                        let _ = ask.tx.send(Err(e.clone()));
                    }
                }
            }
        });
    }
}
