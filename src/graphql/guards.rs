//! Schema extensions that shape errors before and after execution: introspection refused
//! with a clear error when it is switched off, and input coercion errors given the same
//! `BAD_USER_INPUT` code as the domain's validation errors.

use std::sync::{Arc, Mutex};

use async_graphql::{
    Response, ServerError, ServerResult, ValidationResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextValidation},
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};

use crate::error::code;

/// Gives `error` a code unless it has one.
fn code_if_none(error: &mut ServerError, code: &str) {
    if error.extensions.as_ref().and_then(|x| x.get("code")).is_none() {
        error.extensions.get_or_insert_with(Default::default).set("code", code);
    }
}

/// The code of a validation error by async-graphql's message.
fn validation_code(error: &ServerError) -> &'static str {
    match error.message.as_str() {
        "Query is nested too deep." => code::QUERY_TOO_DEEP,
        "Query is too complex." => code::QUERY_TOO_COSTLY,
        _ => code::GRAPHQL_VALIDATION_FAILED,
    }
}

/// Refuses `__schema` and `__type` (introspection off) and codes input coercion errors.
pub struct Guards {
    /// Whether introspection is answered.
    pub introspection: bool,
}

impl ExtensionFactory for Guards {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(GuardsExtension { introspection: self.introspection, source: Mutex::default() })
    }
}

struct GuardsExtension {
    introspection: bool,
    /// The request's text and variables, to name the field of an input coercion error.
    source: Mutex<Option<(String, Variables)>>,
}

fn introspects(set: &SelectionSet) -> bool {
    set.items.iter().any(|item| match &item.node {
        Selection::Field(field) => {
            let name = field.node.name.node.as_str();
            name == "__schema" || name == "__type" || introspects(&field.node.selection_set.node)
        }
        Selection::InlineFragment(fragment) => introspects(&fragment.node.selection_set.node),
        Selection::FragmentSpread(_) => false,
    })
}

/// Messages async-graphql gives a value that does not fit its input type.
fn is_coercion_error(error: &ServerError) -> bool {
    error.extensions.is_none()
        && (error.message.starts_with("Failed to parse") || error.message.starts_with("Invalid value for argument"))
}

#[async_graphql::async_trait::async_trait]
impl Extension for GuardsExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        if let Ok(mut source) = self.source.lock() {
            *source = Some((query.to_owned(), variables.clone()));
        }
        let document = next.run(ctx, query, variables).await.map_err(|mut error| {
            let code = if error.message.starts_with("The recursion depth") {
                code::QUERY_TOO_DEEP
            } else if error.message.starts_with("The number of directives") {
                code::GRAPHQL_VALIDATION_FAILED
            } else {
                code::GRAPHQL_PARSE_FAILED
            };
            code_if_none(&mut error, code);
            error
        })?;
        if !self.introspection
            && (document.operations.iter().any(|(_, op)| introspects(&op.node.selection_set.node))
                || document.fragments.values().any(|f| introspects(&f.node.selection_set.node)))
        {
            let mut error = ServerError::new("introspection is switched off on this server", None);
            error.extensions = Some({
                let mut ext = async_graphql::ErrorExtensionValues::default();
                ext.set("code", code::INTROSPECTION_DISABLED);
                ext
            });
            return Err(error);
        }
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|mut errors| {
            for error in &mut errors {
                let code = validation_code(error);
                code_if_none(error, code);
            }
            errors
        })
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        for error in &mut response.errors {
            if is_coercion_error(error) {
                let mut ext = async_graphql::ErrorExtensionValues::default();
                ext.set("code", code::BAD_USER_INPUT);
                let source = self.source.lock().ok().and_then(|s| s.clone());
                if let Some(field) = coerced_field(&error.message)
                    .or_else(|| source.and_then(|(query, variables)| invalid_leaf(error, &query, &variables)))
                {
                    ext.set("field", field);
                }
                error.extensions = Some(ext);
            }
        }
        response
    }
}

/// The field an input coercion error is about, from async-graphql's message
/// (`Invalid value for argument "filter.amountMin", …`).
fn coerced_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("Invalid value for argument \"")?;
    Some(rest[..rest.find('"')?].to_owned())
}

/// The field of a scalar that failed to parse ("Failed to parse "Decimal": …"): the first
/// leaf of the erring field's arguments (variables substituted) that the scalar refuses,
/// as a path in the client's terms (`filter.amountMin`).
fn invalid_leaf(error: &ServerError, query: &str, variables: &Variables) -> Option<String> {
    use async_graphql::{Value, parser::Pos};
    let scalar = error.message.strip_prefix("Failed to parse \"")?.split('"').next()?;
    let refuses = |value: &Value| match (scalar, value) {
        ("Decimal", Value::String(s)) => crate::domain::records::parse_decimal("value", s).is_err(),
        ("Date", Value::String(s)) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_err(),
        ("Decimal" | "Date", Value::Number(_)) => true,
        _ => false,
    };
    fn find(path: String, value: &Value, refuses: &dyn Fn(&Value) -> bool) -> Option<String> {
        match value {
            Value::List(items) => items.iter().enumerate().find_map(|(i, v)| find(format!("{path}[{i}]"), v, refuses)),
            Value::Object(map) => map.iter().find_map(|(k, v)| find(format!("{path}.{k}"), v, refuses)),
            leaf => refuses(leaf).then_some(path),
        }
    }
    // The error points at the argument's value (or at the field).
    fn field_at(set: &SelectionSet, at: Pos) -> Option<&async_graphql::parser::types::Field> {
        set.items.iter().find_map(|item| match &item.node {
            Selection::Field(field) if field.pos == at || field.node.arguments.iter().any(|(_, v)| v.pos == at) => {
                Some(&field.node)
            }
            Selection::Field(field) => field_at(&field.node.selection_set.node, at),
            Selection::InlineFragment(fragment) => field_at(&fragment.node.selection_set.node, at),
            Selection::FragmentSpread(_) => None,
        })
    }
    let at = *error.locations.first()?;
    let document = async_graphql::parser::parse_query(query).ok()?;
    let field = document
        .operations
        .iter()
        .find_map(|(_, op)| field_at(&op.node.selection_set.node, at))
        .or_else(|| document.fragments.values().find_map(|f| field_at(&f.node.selection_set.node, at)))?;
    let at_value = field.arguments.iter().any(|(_, v)| v.pos == at);
    field.arguments.iter().filter(|(_, v)| !at_value || v.pos == at).find_map(|(name, value)| {
        let value = value.node.clone().into_const_with(|v| variables.get(&v).cloned().ok_or(())).ok()?;
        find(name.node.to_string(), &value, &refuses)
    })
}
