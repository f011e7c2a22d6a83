//! The S3 backend (AWS S3, MinIO, Aliyun OSS and other S3-compatible
//! stores) through rust-s3.

use std::io;
use std::time::Duration;

use futures_util::StreamExt;
use s3::Bucket;
use s3::Region;
use s3::creds::Credentials;
use s3::error::S3Error;

use super::{Object, StorageError};
use crate::assets::Download;
use crate::config::StorageConfig;

pub struct S3Store {
    bucket: Box<Bucket>,
    public_base: Option<String>,
    presign_ttl: Duration,
    pub(super) timeout: Duration,
}

impl S3Store {
    pub fn new(config: &StorageConfig) -> Result<S3Store, crate::Error> {
        let s3 = &config.s3;
        let setup = |e: String| crate::Error::Config(format!("S3 storage: {e}"));
        let region = match &s3.endpoint {
            Some(endpoint) => Region::Custom {
                region: s3.region.clone(),
                endpoint: endpoint.trim_end_matches('/').to_owned(),
            },
            None => s3.region.parse().map_err(|e| setup(format!("{e}")))?,
        };
        let credentials = Credentials::new(
            s3.access_key_id.as_ref().map(|s| s.expose()),
            s3.secret_access_key.as_ref().map(|s| s.expose()),
            None,
            None,
            None,
        )
        .map_err(|e| setup(format!("credentials: {e}")))?;
        let mut bucket = Bucket::new(&s3.bucket, region, credentials)
            .map_err(|e| setup(e.to_string()))?
            .with_request_timeout(config.timeout)
            .map_err(|e| setup(e.to_string()))?;
        if s3.path_style {
            bucket = bucket.with_path_style();
        }
        Ok(S3Store {
            bucket,
            public_base: s3.public_base.clone(),
            presign_ttl: s3.presign_ttl,
            timeout: config.timeout,
        })
    }

    pub fn describe(&self) -> String {
        format!(
            "S3 bucket {} at {}",
            self.bucket.name(),
            self.bucket.region().endpoint()
        )
    }

    /// Upload a download unless the object is there already. One PUT below
    /// rust-s3's part size (8 MiB), else a multipart upload with one part in
    /// memory at a time, completed or aborted.
    pub async fn put(
        &self,
        object: &str,
        download: Download,
        content_type: &str,
    ) -> Result<bool, StorageError> {
        match self.bucket.head_object(object).await {
            Ok((head, _)) if head.content_length == Some(download.size as i64) => return Ok(false),
            Ok(_) => {}
            Err(e) => match unavailable(e) {
                StorageError::NotFound => {}
                other => return Err(other),
            },
        }
        let mut file = tokio::fs::File::open(&download.path).await?;
        let put = self
            .bucket
            .put_object_stream_builder(object)
            .with_content_type(content_type)
            .with_max_concurrent_chunks(1)
            .execute_stream(&mut file)
            .await
            .map_err(unavailable)?;
        if !(200..300).contains(&put.status_code()) {
            return Err(StorageError::Unavailable(format!(
                "PUT answered {}",
                put.status_code()
            )));
        }
        Ok(true)
    }

    pub async fn get(&self, object: &str) -> Result<Object, StorageError> {
        let response = self
            .bucket
            .get_object_stream(object)
            .await
            .map_err(unavailable)?;
        let body = response
            .bytes
            .map(|chunk| chunk.map_err(|e| io::Error::other(e.to_string())));
        Ok(Object {
            size: None,
            body: Box::pin(body),
        })
    }

    /// The public URL of `object`, or a presigned one.
    pub async fn url(&self, object: &str) -> Result<String, StorageError> {
        if let Some(base) = &self.public_base {
            return Ok(format!("{}/{object}", base.trim_end_matches('/')));
        }
        let secs = u32::try_from(self.presign_ttl.as_secs())
            .unwrap_or(u32::MAX)
            .clamp(1, 604_800);
        self.bucket
            .presign_get(object, secs, None)
            .await
            .map_err(unavailable)
    }
}

fn unavailable(e: S3Error) -> StorageError {
    match e {
        S3Error::HttpFailWithBody(404, _) => StorageError::NotFound,
        S3Error::HttpFailWithBody(status, _) => {
            StorageError::Unavailable(format!("S3 answered {status}"))
        }
        other => StorageError::Unavailable(other.to_string()),
    }
}
