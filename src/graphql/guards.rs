//! Schema extensions that shape errors before and after execution: introspection refused
//! with a clear error when it is switched off, and input coercion errors given the same
//! `BAD_USER_INPUT` code as the domain's validation errors.

use std::sync::Arc;

use async_graphql::{
    Response, ServerError, ServerResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery},
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};

/// Refuses `__schema` and `__type` (introspection off) and codes input coercion errors.
pub struct Guards {
    /// Whether introspection is answered.
    pub introspection: bool,
}

impl ExtensionFactory for Guards {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(GuardsExtension { introspection: self.introspection })
    }
}

struct GuardsExtension {
    introspection: bool,
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
        let document = next.run(ctx, query, variables).await?;
        if !self.introspection
            && (document.operations.iter().any(|(_, op)| introspects(&op.node.selection_set.node))
                || document.fragments.values().any(|f| introspects(&f.node.selection_set.node)))
        {
            let mut error = ServerError::new("introspection is switched off on this server", None);
            error.extensions = Some({
                let mut ext = async_graphql::ErrorExtensionValues::default();
                ext.set("code", "INTROSPECTION_DISABLED");
                ext
            });
            return Err(error);
        }
        Ok(document)
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
                ext.set("code", "BAD_USER_INPUT");
                error.extensions = Some(ext);
            }
        }
        response
    }
}
