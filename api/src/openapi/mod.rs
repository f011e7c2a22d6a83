//! `GET /openapi.json`: OpenAPI 3.1, built (with utoipa) from what the
//! code serves, so it cannot drift: every resource of every provider in the
//! catalogue with its parameters and their types, the TMDB drop-in's and
//! image routes, the admin route table with its request and answer types,
//! and the error codes.

use std::collections::BTreeMap;

use bytes::Bytes;
use hyper::StatusCode;
use larder_jobs::provider::{Catalogue, Kind, ResourceDef};
use utoipa::openapi::path::{
    HttpMethod, Operation, OperationBuilder, ParameterBuilder, ParameterIn,
};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathItem, Paths,
    PathsBuilder, Ref, RefOr, Required, ResponseBuilder, ResponsesBuilder, Schema,
};

use crate::reply;

mod admin;
mod schema;

use crate::state::State;
use schema::*;

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
        .map(|p| {
            let mut param = parameter(p, r.is_path_param(p.name));
            if r.name == "image" && p.name == "file" {
                // An image's file name: checked by its adapter
                // (`image_name_ok`: a plain name with an image extension).
                param.schema = Some(RefOr::T(Schema::Object(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .pattern(Some(r"^[A-Za-z0-9_.\-]{1,190}\.(jpg|jpeg|png|webp|svg)$"))
                        .build(),
                )));
            }
            param
        })
        .collect()
}

pub(super) fn plain(id: &str, summary: &str, content: Option<&str>) -> PathItem {
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
    all.extend(admin::admin_paths());
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
