//! The document's building blocks: schemas of parameters, errors and
//! bodies, responses.

use hyper::StatusCode;
use larder_jobs::provider::{Kind, Param};
use utoipa::ToSchema;
use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{
    ContentBuilder, Ref, RefOr, Required, ResponseBuilder, ResponsesBuilder, Schema,
};

/// Error codes an answer may carry (`error.code`), by where they arise.
pub(super) const ERROR_CODES: &[&str] = &[
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

pub(super) fn error_schema() -> Schema {
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

pub(super) fn any_json() -> Schema {
    Schema::Object(ObjectBuilder::new().build())
}

pub(super) fn error_ref() -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name("Error"))
}

/// The JSON schema of a parameter of `kind`.
pub(super) fn param_schema(kind: Kind) -> Schema {
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
pub(super) fn regex_class(extra: &str) -> String {
    extra
        .chars()
        .map(|c| match c {
            '-' | '\\' | ']' | '^' | '[' => format!("\\{c}"),
            c => c.to_string(),
        })
        .collect()
}

pub(super) fn parameter(p: &Param, path: bool) -> utoipa::openapi::path::Parameter {
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

pub(super) fn responses(
    ok: &[(StatusCode, &str)],
    errors: &[StatusCode],
) -> utoipa::openapi::Responses {
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

/// TMDB's error shape, with larder's code beside it.
pub(super) fn tmdb_error_schema() -> Schema {
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

pub(super) fn query_param(
    name: &str,
    schema: Schema,
    description: &str,
) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .schema(Some(schema))
        .description(Some(description))
        .build()
}

pub(super) fn string_schema() -> Schema {
    Schema::Object(ObjectBuilder::new().schema_type(Type::String).build())
}

pub(super) fn limit_schema(max: i64) -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1.0))
            .maximum(Some(max as f64))
            .build(),
    )
}

pub(super) fn body<T: ToSchema>() -> Option<utoipa::openapi::request_body::RequestBody> {
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

pub(super) fn list_of<T: ToSchema>(field: &str) -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .property(field, ArrayBuilder::new().items(T::schema()))
            .required(field)
            .build(),
    )
}

pub(super) fn unwrap_schema(s: RefOr<Schema>) -> Schema {
    match s {
        RefOr::T(s) => s,
        RefOr::Ref(_) => any_json(),
    }
}
