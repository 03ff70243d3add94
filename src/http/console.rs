//! The GraphiQL console at `GET /graphql` (for browsers), served whole from the binary:
//! GraphiQL 3.8.3, React and ReactDOM 18.3.1 (pinned, gzip-compressed in
//! `console/*.gz`, their licences in `console/LICENSES.txt`), so that it works on a machine
//! with no internet. Its first tabs are the README's questions; subscriptions go to
//! `/graphql/ws`.

use axum::{
    extract::Path,
    http::{
        HeaderMap, StatusCode,
        header::{ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_SECURITY_POLICY, CONTENT_TYPE, VARY},
    },
    response::{IntoResponse, Response},
};

const PAGE: &str = include_str!("console/console.html");
const SCRIPT: &str = include_str!("console/console.js");

/// The pinned third-party files: name, content type, gzip-compressed bytes.
const VENDORED: [(&str, &str, &[u8]); 4] = [
    ("graphiql-3.8.3.min.js", "text/javascript; charset=utf-8", include_bytes!("console/graphiql-3.8.3.min.js.gz")),
    ("graphiql-3.8.3.min.css", "text/css; charset=utf-8", include_bytes!("console/graphiql-3.8.3.min.css.gz")),
    (
        "react-18.3.1.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("console/react-18.3.1.production.min.js.gz"),
    ),
    (
        "react-dom-18.3.1.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("console/react-dom-18.3.1.production.min.js.gz"),
    ),
];

/// Scripts and styles from this server only; GraphiQL styles itself inline and embeds its
/// fonts as data; queries and subscriptions go to this server.
const POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'";

/// The console page.
pub(super) fn page() -> Response {
    ([(CONTENT_TYPE, "text/html; charset=utf-8"), (CACHE_CONTROL, "no-cache"), (CONTENT_SECURITY_POLICY, POLICY)], PAGE)
        .into_response()
}

/// `GET /console/console.js`: the console's own script (its example tabs).
pub(super) async fn script() -> Response {
    ([(CONTENT_TYPE, "text/javascript; charset=utf-8"), (CACHE_CONTROL, "no-cache")], SCRIPT).into_response()
}

/// `GET /console/{file}`: a pinned file, gzip-compressed as stored. Its name carries its
/// version, so browsers keep it for a year. Every browser accepts gzip; a client that says
/// it does not gets 406 rather than bytes it cannot read.
pub(super) async fn vendored(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some((_, content_type, bytes)) = VENDORED.iter().find(|(name, _, _)| *name == file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let gzip = headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| coding.split(';').next().is_some_and(|c| matches!(c.trim(), "gzip" | "*")));
    if !gzip {
        return (StatusCode::NOT_ACCEPTABLE, "the console's files are served gzip-compressed (Accept-Encoding: gzip)")
            .into_response();
    }
    (
        [
            (CONTENT_TYPE, *content_type),
            (CONTENT_ENCODING, "gzip"),
            (CACHE_CONTROL, "public, max-age=31536000, immutable"),
            (VARY, "Accept-Encoding"),
        ],
        *bytes,
    )
        .into_response()
}
