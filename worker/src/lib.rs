//! larder-worker
