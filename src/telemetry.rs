//! Logs, and optional OTLP traces.
//!
//! Logs go to stderr (text or JSON) under `RUST_LOG`. With
//! `OTEL_EXPORTER_OTLP_ENDPOINT` set, larder's spans (a request, the fill it
//! started, which joins its trace through the job's `traceparent`) are also
//! exported over OTLP/HTTP (`OTEL_EXPORTER_OTLP_PROTOCOL`: `http/protobuf`,
//! the default, or `http/json`; `OTEL_SERVICE_NAME`, default `larder`; the
//! SDK's `OTEL_BSP_*` batch settings). Those spans are at debug level and
//! only that exporter sees them: the log output and the hit path are as
//! without it.

use std::sync::OnceLock;

use larder_jobs::config::LogFormat;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::prelude::*;
use tracing_subscriber::{EnvFilter, Layer};

static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// The OTLP exporter's tracer provider, when the endpoint is set.
fn tracer_provider() -> Option<SdkTracerProvider> {
    let endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok()?;
    if endpoint.trim().is_empty() {
        return None;
    }
    let protocol = match std::env::var("OTEL_EXPORTER_OTLP_PROTOCOL").as_deref() {
        Ok("http/json") => Protocol::HttpJson,
        _ => Protocol::HttpBinary,
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(protocol)
        .build();
    let exporter = match exporter {
        Ok(e) => e,
        Err(e) => {
            eprintln!("OTLP traces off: {e}");
            return None;
        }
    };
    let service = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "larder".to_owned());
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(service)
                .build(),
        )
        .build();
    Some(provider)
}

pub fn init(format: LogFormat) {
    // Postgres NOTICEs ("relation already exists, skipping" on every start)
    // are not news: warnings and up only, unless RUST_LOG says otherwise.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx::postgres::notice=warn"));
    // Colours only for a terminal: log files and collectors get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let logs = match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(ansi)
            .boxed(),
    }
    .with_filter(filter);
    let traces = tracer_provider().map(|provider| {
        let tracer = provider.tracer("larder");
        let _ = PROVIDER.set(provider);
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_filter(
                Targets::new()
                    .with_target("larder_api", LevelFilter::DEBUG)
                    .with_target("larder_worker", LevelFilter::DEBUG)
                    .with_target("larder_jobs", LevelFilter::INFO)
                    .with_target("larder_scheduler", LevelFilter::INFO),
            )
    });
    tracing_subscriber::registry()
        .with(traces)
        .with(logs)
        .init();
    if PROVIDER.get().is_some() {
        tracing::info!("OTLP trace export on");
    }
}

/// Send the spans still batched (at exit).
pub fn flush() {
    if let Some(provider) = PROVIDER.get()
        && let Err(e) = provider.shutdown()
    {
        eprintln!("OTLP traces: {e}");
    }
}
