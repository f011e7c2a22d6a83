//! Single-flight database reads. When many requests miss the in-process cache
//! for one key at once (a burst on a cold key), one of them reads the entry
//! and the rest share its answer: a burst of 200 costs one query, not 200
//! queued on the pool ahead of the fill they are all about to start.

use std::sync::Arc;

use dashmap::DashMap;
use larder_jobs::key::CacheKey;
use tokio::sync::OnceCell;

use crate::hot::HotEntry;
use crate::reply::ApiError;
use crate::state::State;

type Shared = Result<Option<Arc<HotEntry>>, ApiError>;

#[derive(Default)]
pub struct Lookups {
    map: DashMap<u64, Arc<OnceCell<Shared>>>,
}

impl Lookups {
    /// The stored entry for `key` (remembered in the hot cache), read once
    /// for everyone asking at the same moment.
    pub async fn get(&self, state: &State, key: &CacheKey) -> Shared {
        let cell = self.map.entry(key.hash()).or_default().clone();
        let result = cell
            .get_or_init(|| async {
                let generation = state.hot.generation();
                let read = match state.store.lookup(key).await {
                    Ok(Some(e)) => Ok(state.hot.remember(generation, key, &e)),
                    Ok(None) => Ok(None),
                    Err(e) => Err(ApiError::from(e)),
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
}
