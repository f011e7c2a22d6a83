//! The admin routes' operations, from the admin route table.

use std::collections::BTreeMap;

use hyper::{Method, StatusCode};
use utoipa::PartialSchema;
use utoipa::openapi::path::{Operation, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{ContentBuilder, PathItem, RefOr, Required, ResponseBuilder, Schema};

use super::plain;
use super::schema::*;
use crate::admin::{self, Op};

/// The admin routes, from [`admin::ROUTES`].
pub(super) fn admin_paths() -> BTreeMap<String, PathItem> {
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

fn admin_operation(op: Op, method: &Method) -> Operation {
    use admin::{cache::Prewarm, keys::KeyPatch, keys::NewKey, providers::ProviderPatch};
    use larder_jobs::keys::KeyInfo;
    use larder_jobs::store::{EntryInfo, JobInfo};
    let m = method.as_str().to_ascii_lowercase();
    // Path parameters as the handlers check them: a key's id is a positive
    // integer, a job's id letters and digits, a provider's name one of the
    // catalogue's (checked there; any text here).
    let id_param = |name: &str| {
        let schema = match (op, name) {
            (Op::Key, _) => Schema::Object(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(1.0))
                    .build(),
            ),
            (Op::JobRetry, _) => Schema::Object(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some("^[A-Za-z0-9]{1,64}$"))
                    .build(),
            ),
            _ => string_schema(),
        };
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .schema(Some(schema))
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
