//! Trace context across the queue: an API request that starts a fill puts
//! its span's W3C `traceparent` in the job, and the worker's fill span takes
//! it as its parent, so the request and the fill it waits on are one trace
//! (with OTLP export on: `OTEL_EXPORTER_OTLP_ENDPOINT`). Without an
//! OpenTelemetry layer installed, spans carry no context and nothing is
//! added to jobs.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The `traceparent` of `span`, when it belongs to a sampled trace.
pub fn traceparent(span: &tracing::Span) -> Option<String> {
    let cx = span.context();
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&cx, &mut carrier);
    carrier.remove("traceparent")
}

/// Make `traceparent`'s span the parent of `span` (ignored when malformed).
pub fn set_parent(span: &tracing::Span, traceparent: &str) {
    let carrier = HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
    let cx = TraceContextPropagator::new().extract(&carrier);
    if cx.span().span_context().is_valid() {
        let _ = span.set_parent(cx);
    }
}
