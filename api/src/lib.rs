//! larder-api
