//! `GET /openapi.json`: OpenAPI 3.1, built (with utoipa) from what the
//! code serves, so it cannot drift: every resource of every provider in the
//! catalogue with its parameters and their types, the TMDB drop-in's and
//! image routes, the admin route table with its request and answer types,
//! and the error codes.

use std::collections::BTreeMap;

use bytes::Bytes;
use hyper::{Method, StatusCode};
use larder_jobs::provider::{Catalogue, Kind, Param, ResourceDef};
use utoipa::openapi::path::{
    HttpMethod, Operation, OperationBuilder, ParameterBuilder, ParameterIn,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathItem, Paths,
    PathsBuilder, Ref, RefOr, Required, ResponseBuilder, ResponsesBuilder, Schema,
};
use utoipa::{PartialSchema, ToSchema};

use crate::admin::{self, Op};
use crate::reply;
use crate::state::State;

/// The answer, built once per process.
pub fn serve(state: &State) -> reply::Reply {
    let body = state.openapi.get_or_init(|| {
        let doc = document(
            &state.catalogue,
            state.config.auth == larder_jobs::config::AuthMode::Required,
        );
        Bytes::from(serde_json::to_vec(&doc).unwrap_or_default())
    });
    reply::text(StatusCode::OK, "application/json", body.clone())
}

/// Error codes an answer may carry (`error.code`), by where they arise.
const ERROR_CODES: &[&str] = &[
    "bad-request",
    "unknown-provider",
    "unknown-resource",
    "unknown-parameter",
    "invalid-parameter",
    "missing-parameter",
    "unauthorized",
    "forbidden",
    "not-found",
    "method-not-allowed",
    "uri-too-long",
    "quota-exceeded",
    "upstream-not-found",
    "upstream-error",
    "upstream-timeout",
    "upstream-rejected",
    "provider-disabled",
    "overloaded",
    "queue-full",
    "database-unavailable",
    "storage-unavailable",
    "not-acceptable",
    "confirm-required",
    "invalid-prefix",
    "invalid-limit",
    "invalid-state",
    "invalid-id",
    "invalid-name",
    "invalid-scope",
    "invalid-quota",
    "invalid-expires-in",
    "invalid-rate",
    "invalid-ttl",
    "invalid-path",
    "invalid-paths",
    "too-many-keys",
    "empty-patch",
    "bad-json",
    "bad-body",
    "body-too-large",
    "key-not-found",
    "job-not-found",
    "provider-not-found",
    "internal",
];

fn error_schema() -> Schema {
    let code = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(ERROR_CODES.iter().copied()))
        .build();
    let inner = ObjectBuilder::new()
        .property("code", code)
        .property("message", ObjectBuilder::new().schema_type(Type::String))
        .required("code")
        .required("message")
        .build();
    Schema::Object(
        ObjectBuilder::new()
            .property("error", inner)
            .required("error")
            .description(Some("Every error: a stable code and a message."))
            .build(),
    )
}

fn any_json() -> Schema {
    Schema::Object(ObjectBuilder::new().build())
}

fn error_ref() -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name("Error"))
}

/// The JSON schema of a parameter of `kind`.
fn param_schema(kind: Kind) -> Schema {
    let string = || ObjectBuilder::new().schema_type(Type::String);
    let o = match kind {
        Kind::Int { min, max } => ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(min as f64))
            .maximum(Some(max as f64)),
        Kind::Float { min, max, .. } => ObjectBuilder::new()
            .schema_type(Type::Number)
            .minimum(Some(min))
            .maximum(Some(max)),
        Kind::Bool => ObjectBuilder::new().schema_type(Type::Boolean),
        Kind::Text { max_len, .. } => string()
            .min_length(Some(1))
            .max_length(Some(max_len))
            .pattern(Some(r"\S")),
        Kind::Ident { max_len, extra } => string().pattern(Some(format!(
            "^[A-Za-z0-9{}]{{1,{max_len}}}$",
            regex_class(extra)
        ))),
        Kind::Code {
            min_len,
            max_len,
            extra,
            ..
        } => string().pattern(Some(format!(
            "^[A-Za-z{}]{{{min_len},{max_len}}}$",
            regex_class(extra)
        ))),
        Kind::OneOf(values) => string().enum_values(Some(values.iter().copied())),
        Kind::SetOf { values, max } => string()
            .pattern(Some(format!(
                "^({v})(,({v})){{0,{}}}$",
                max.saturating_sub(1),
                v = values.join("|")
            )))
            .description(Some(format!(
                "comma-separated, any of: {}",
                values.join(", ")
            ))),
        Kind::Language => string().pattern(Some("^[a-zA-Z]{2}(-[a-zA-Z]{2})?$")),
        Kind::LanguageSet => string().pattern(Some(
            "^(null|[a-zA-Z]{2}(-[a-zA-Z]{2})?)(,(null|[a-zA-Z]{2}(-[a-zA-Z]{2})?))*$",
        )),
        Kind::Region => string().pattern(Some("^[a-zA-Z]{2}$")),
        Kind::Date => string().format(Some(SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Date,
        ))),
        Kind::Timezone => string().max_length(Some(64)),
    };
    Schema::Object(o.description(Some(kind.describe())).build())
}

/// `extra` characters inside a regex character class.
fn regex_class(extra: &str) -> String {
    extra
        .chars()
        .map(|c| match c {
            '-' | '\\' | ']' | '^' | '[' => format!("\\{c}"),
            c => c.to_string(),
        })
        .collect()
}

fn parameter(p: &Param, path: bool) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(p.name)
        .parameter_in(if path {
            ParameterIn::Path
        } else {
            ParameterIn::Query
        })
        .required(if path || p.required {
            Required::True
        } else {
            Required::False
        })
        .schema(Some(param_schema(p.kind)))
        .description(p.default.map(|d| format!("default: {d}")))
        .build()
}

fn responses(ok: &[(StatusCode, &str)], errors: &[StatusCode]) -> utoipa::openapi::Responses {
    let mut b = ResponsesBuilder::new();
    for (status, what) in ok {
        let mut r = ResponseBuilder::new().description(*what);
        if *status != StatusCode::NOT_MODIFIED && *status != StatusCode::FOUND {
            r = r.content(
                "application/json",
                ContentBuilder::new().schema(Some(any_json())).build(),
            );
        }
        b = b.response(status.as_str(), r.build());
    }
    for status in errors {
        b = b.response(
            status.as_str(),
            ResponseBuilder::new()
                .description(status.canonical_reason().unwrap_or("error"))
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(error_ref())).build(),
                )
                .build(),
        );
    }
    b.build()
}

/// Statuses a cached read may answer with besides 200.
const READ_ERRORS: &[StatusCode] = &[
    StatusCode::BAD_REQUEST,
    StatusCode::UNAUTHORIZED,
    StatusCode::FORBIDDEN,
    StatusCode::NOT_FOUND,
    StatusCode::METHOD_NOT_ALLOWED,
    StatusCode::NOT_ACCEPTABLE,
    StatusCode::URI_TOO_LONG,
    StatusCode::TOO_MANY_REQUESTS,
    StatusCode::BAD_GATEWAY,
    StatusCode::SERVICE_UNAVAILABLE,
    StatusCode::GATEWAY_TIMEOUT,
];

fn read_operation(
    id: String,
    summary: String,
    params: Vec<utoipa::openapi::path::Parameter>,
    secured: bool,
) -> Operation {
    let mut op = OperationBuilder::new()
        .operation_id(Some(id))
        .summary(Some(summary))
        .parameters(Some(params))
        .responses(responses(
            &[
                (
                    StatusCode::OK,
                    "the cached answer (HIT, STALE or just filled)",
                ),
                (
                    StatusCode::ACCEPTED,
                    "a fill is under way: retry after Retry-After",
                ),
                (StatusCode::NOT_MODIFIED, "If-None-Match matched"),
            ],
            READ_ERRORS,
        ));
    if secured {
        op = op.security(SecurityRequirement::new("serviceKey", Vec::<String>::new()));
    }
    op.build()
}

/// A TMDB drop-in operation: TMDB's statuses and error shape.
fn dropin_operation(
    id: String,
    summary: String,
    params: Vec<utoipa::openapi::path::Parameter>,
) -> Operation {
    let mut rs = responses(
        &[
            (StatusCode::OK, "TMDB's answer, from the cache"),
            (StatusCode::NOT_MODIFIED, "If-None-Match matched"),
        ],
        &[],
    );
    for status in [
        StatusCode::UNAUTHORIZED,
        StatusCode::NOT_FOUND,
        StatusCode::METHOD_NOT_ALLOWED,
        StatusCode::URI_TOO_LONG,
        StatusCode::UNPROCESSABLE_ENTITY,
        StatusCode::TOO_MANY_REQUESTS,
        StatusCode::INTERNAL_SERVER_ERROR,
        StatusCode::SERVICE_UNAVAILABLE,
        StatusCode::GATEWAY_TIMEOUT,
    ] {
        rs.responses.insert(
            status.as_str().into(),
            RefOr::T(
                ResponseBuilder::new()
                    .description(status.canonical_reason().unwrap_or("error"))
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(RefOr::Ref(Ref::from_schema_name("TmdbError"))))
                            .build(),
                    )
                    .build(),
            ),
        );
    }
    OperationBuilder::new()
        .operation_id(Some(id))
        .summary(Some(summary))
        .parameters(Some(params))
        .responses(rs)
        .build()
}

/// TMDB's error shape, with larder's code beside it.
fn tmdb_error_schema() -> Schema {
    let larder = ObjectBuilder::new()
        .property("code", ObjectBuilder::new().schema_type(Type::String))
        .property("message", ObjectBuilder::new().schema_type(Type::String))
        .build();
    Schema::Object(
        ObjectBuilder::new()
            .property(
                "status_code",
                ObjectBuilder::new().schema_type(Type::Integer),
            )
            .property(
                "status_message",
                ObjectBuilder::new().schema_type(Type::String),
            )
            .property("success", ObjectBuilder::new().schema_type(Type::Boolean))
            .property("larder", larder)
            .required("status_code")
            .required("status_message")
            .build(),
    )
}

fn get(op: Operation) -> PathItem {
    PathItem::new(HttpMethod::Get, op)
}

/// Every resource's `/v1` path (and the drop-in's `/3` path for TMDB).
fn provider_paths(catalogue: &Catalogue, secured: bool) -> BTreeMap<String, PathItem> {
    let mut paths = BTreeMap::new();
    for def in catalogue.providers() {
        for r in def.resources {
            let params = resource_params(r);
            let path = format!("/v1/{}/{}", def.id, r.route);
            let mut query = params.clone();
            if def.id == "hot" {
                query.push(
                    ParameterBuilder::new()
                        .name("format")
                        .parameter_in(ParameterIn::Query)
                        .schema(Some(param_schema(Kind::OneOf(&["json", "rss"]))))
                        .build(),
                );
            }
            paths.insert(
                path,
                get(read_operation(
                    format!("{}.{}", def.id, r.name),
                    format!("{}: {}", def.title, r.name),
                    query,
                    secured && r.name != "image",
                )),
            );
            if def.id == "tmdb" && r.name != "image" {
                let mut with_key = params;
                with_key.push(
                    ParameterBuilder::new()
                        .name("api_key")
                        .parameter_in(ParameterIn::Query)
                        .description(Some("a larder service key (or a bearer token)"))
                        .schema(Some(Schema::Object(
                            ObjectBuilder::new().schema_type(Type::String).build(),
                        )))
                        .build(),
                );
                paths.insert(
                    format!("/3/{}", r.route),
                    get(dropin_operation(
                        format!("dropin.{}", r.name),
                        format!("TMDB drop-in: {}", r.name),
                        with_key,
                    )),
                );
            }
            if def.id == "tmdb" && r.name == "image" {
                paths.insert(
                    format!("/t/p/{}", r.route.trim_start_matches("image/")),
                    get(read_operation(
                        "tmdb.image_host".into(),
                        "TMDB images, as image.tmdb.org serves them".into(),
                        resource_params(r),
                        false,
                    )),
                );
            }
        }
    }
    paths
}

fn resource_params(r: &ResourceDef) -> Vec<utoipa::openapi::path::Parameter> {
    r.params
        .iter()
        .map(|p| parameter(p, r.is_path_param(p.name)))
        .collect()
}

fn plain(id: &str, summary: &str, content: Option<&str>) -> PathItem {
    let mut r = ResponseBuilder::new().description(summary);
    if let Some(ct) = content {
        r = r.content(ct, ContentBuilder::new().schema(Some(any_json())).build());
    }
    get(OperationBuilder::new()
        .operation_id(Some(id))
        .summary(Some(summary))
        .responses(
            ResponsesBuilder::new()
                .response("200", r.build())
                .response(
                    "503",
                    ResponseBuilder::new().description("not ready").build(),
                )
                .build(),
        )
        .build())
}

/// The admin routes, from [`admin::ROUTES`].
fn admin_paths() -> BTreeMap<String, PathItem> {
    let mut paths = BTreeMap::new();
    for route in admin::ROUTES {
        if route.op == Op::Console {
            let mut item = plain("admin.console", "the web console (HTML)", None);
            if let Some(op) = item.get.as_mut() {
                op.responses.responses.insert(
                    "200".into(),
                    RefOr::T(
                        ResponseBuilder::new()
                            .description("the console page")
                            .content("text/html", ContentBuilder::new().build())
                            .build(),
                    ),
                );
                op.responses.responses.remove("503");
            }
            paths.insert(route.pattern.to_owned(), item);
            continue;
        }
        let mut item = PathItem::default();
        for method in route.methods {
            let op = admin_operation(route.op, method);
            match *method {
                Method::GET => item.get = Some(op),
                Method::POST => item.post = Some(op),
                Method::PATCH => item.patch = Some(op),
                Method::DELETE => item.delete = Some(op),
                _ => {}
            }
        }
        paths.insert(route.pattern.to_owned(), item);
    }
    paths
}

fn query_param(name: &str, schema: Schema, description: &str) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .schema(Some(schema))
        .description(Some(description))
        .build()
}

fn string_schema() -> Schema {
    Schema::Object(ObjectBuilder::new().schema_type(Type::String).build())
}

fn limit_schema(max: i64) -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1.0))
            .maximum(Some(max as f64))
            .build(),
    )
}

fn body<T: ToSchema>() -> Option<utoipa::openapi::request_body::RequestBody> {
    Some(
        RequestBodyBuilder::new()
            .content(
                "application/json",
                ContentBuilder::new().schema(Some(T::schema())).build(),
            )
            .required(Some(Required::True))
            .build(),
    )
}

fn list_of<T: ToSchema>(field: &str) -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .property(field, ArrayBuilder::new().items(T::schema()))
            .required(field)
            .build(),
    )
}

fn admin_operation(op: Op, method: &Method) -> Operation {
    use admin::{cache::Prewarm, keys::KeyPatch, keys::NewKey, providers::ProviderPatch};
    use larder_jobs::keys::KeyInfo;
    use larder_jobs::store::{EntryInfo, JobInfo};
    let m = method.as_str().to_ascii_lowercase();
    let id_param = |name: &str| {
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .schema(Some(string_schema()))
            .build()
    };
    let (ok_status, ok_schema, params, request) = match (op, method.clone()) {
        (Op::Overview, _) => (StatusCode::OK, any_json(), vec![], None),
        (Op::Keys, Method::POST) => (StatusCode::CREATED, any_json(), vec![], body::<NewKey>()),
        (Op::Keys, _) => (StatusCode::OK, list_of::<KeyInfo>("keys"), vec![], None),
        (Op::Key, Method::PATCH) => (
            StatusCode::OK,
            unwrap_schema(KeyInfo::schema()),
            vec![id_param("id")],
            body::<KeyPatch>(),
        ),
        (Op::Key, Method::DELETE) => (StatusCode::OK, any_json(), vec![id_param("id")], None),
        (Op::Key, _) => (
            StatusCode::OK,
            unwrap_schema(KeyInfo::schema()),
            vec![id_param("id")],
            None,
        ),
        (Op::Cache, Method::DELETE) => (
            StatusCode::OK,
            any_json(),
            vec![
                query_param(
                    "prefix",
                    string_schema(),
                    "key prefix; empty needs confirm=yes",
                ),
                query_param(
                    "confirm",
                    Schema::Object(
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .enum_values(Some(["yes"]))
                            .build(),
                    ),
                    "yes, to purge everything",
                ),
            ],
            None,
        ),
        (Op::Cache, _) => (
            StatusCode::OK,
            list_of::<EntryInfo>("entries"),
            vec![
                query_param("prefix", string_schema(), "key prefix"),
                query_param("limit", limit_schema(1000), "at most this many (50)"),
            ],
            None,
        ),
        (Op::Prewarm, _) => (StatusCode::ACCEPTED, any_json(), vec![], body::<Prewarm>()),
        (Op::Jobs, _) => (
            StatusCode::OK,
            list_of::<JobInfo>("jobs"),
            vec![
                query_param(
                    "state",
                    Schema::Object(
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .enum_values(Some(["pending", "running", "done", "failed", "retrying"]))
                            .build(),
                    ),
                    "failed (default): fills that failed",
                ),
                query_param("limit", limit_schema(500), "at most this many (50)"),
            ],
            None,
        ),
        (Op::JobRetry, _) => (StatusCode::ACCEPTED, any_json(), vec![id_param("id")], None),
        (Op::Providers, _) => (StatusCode::OK, any_json(), vec![], None),
        (Op::Provider, Method::PATCH) => (
            StatusCode::OK,
            any_json(),
            vec![id_param("name")],
            body::<ProviderPatch>(),
        ),
        (Op::Provider, _) => (StatusCode::OK, any_json(), vec![id_param("name")], None),
        (Op::Config, _) | (Op::Console, _) => (StatusCode::OK, any_json(), vec![], None),
    };
    let name = format!("admin.{op:?}.{m}").to_ascii_lowercase();
    let mut ok = ResponseBuilder::new()
        .description("done")
        .content(
            "application/json",
            ContentBuilder::new().schema(Some(ok_schema)).build(),
        )
        .build();
    ok.description = "done".into();
    let mut rs = responses(
        &[],
        &[
            StatusCode::BAD_REQUEST,
            StatusCode::UNAUTHORIZED,
            StatusCode::NOT_FOUND,
            StatusCode::METHOD_NOT_ALLOWED,
            StatusCode::PAYLOAD_TOO_LARGE,
            StatusCode::SERVICE_UNAVAILABLE,
        ],
    );
    rs.responses.insert(ok_status.as_str().into(), RefOr::T(ok));
    OperationBuilder::new()
        .operation_id(Some(name))
        .parameters(Some(params))
        .request_body(request)
        .responses(rs)
        .security(SecurityRequirement::new("adminToken", Vec::<String>::new()))
        .build()
}

fn unwrap_schema(s: RefOr<Schema>) -> Schema {
    match s {
        RefOr::T(s) => s,
        RefOr::Ref(_) => any_json(),
    }
}

/// The whole document.
pub fn document(catalogue: &Catalogue, secured: bool) -> OpenApi {
    let mut all = provider_paths(catalogue, secured);
    all.insert(
        "/v1/providers".into(),
        plain(
            "providers",
            "providers, their resources and parameters",
            Some("application/json"),
        ),
    );
    all.insert(
        "/v1/hot".into(),
        plain(
            "hot.index",
            "every hot-list source",
            Some("application/json"),
        ),
    );
    all.insert(
        "/v1/hot/{source}/history".into(),
        get(read_operation(
            "hot.history".into(),
            "a hot list's snapshots kept on a day".into(),
            vec![
                ParameterBuilder::new()
                    .name("source")
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(string_schema()))
                    .build(),
                query_param("date", param_schema(Kind::Date), "the day (today)"),
                query_param(
                    "tz",
                    param_schema(Kind::Timezone),
                    "the day's time zone (UTC)",
                ),
            ],
            secured,
        )),
    );
    all.insert(
        "/livez".into(),
        plain("livez", "the process runs", Some("text/plain")),
    );
    all.insert(
        "/readyz".into(),
        plain(
            "readyz",
            "ready to serve (database reachable)",
            Some("application/json"),
        ),
    );
    all.insert(
        "/health".into(),
        plain(
            "health",
            "database, listener, queue, providers",
            Some("application/json"),
        ),
    );
    all.insert(
        "/metrics".into(),
        plain("metrics", "Prometheus text", Some("text/plain")),
    );
    all.insert(
        "/openapi.json".into(),
        plain("openapi", "this document", Some("application/json")),
    );
    all.extend(admin_paths());
    let mut paths: Paths = PathsBuilder::new().build();
    paths.paths.extend(all);
    let components = ComponentsBuilder::new()
        .schema("Error", error_schema())
        .schema("TmdbError", tmdb_error_schema())
        .security_scheme(
            "serviceKey",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        )
        .security_scheme(
            "adminToken",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        )
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("larder")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "A caching and prefetching gateway for third-party HTTP APIs.",
                ))
                .build(),
        )
        .paths(paths)
        .components(Some(components))
        .build()
}
