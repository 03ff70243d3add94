//! The dashboard at `/` in a real headless Chromium (Debian's `chromium`), driven over the
//! DevTools protocol: it loads without console errors, shows the totals the API gives, and
//! its search filters the table. A screenshot is written for a person to look at.

use std::{path::PathBuf, process::Stdio, time::Duration};

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, tungstenite::Message};

use crate::helpers::{Backend, TestApp};

crate::harness::tests! {
    browser: [
        the_dashboard_shows_the_api_figures_and_its_search_filters_the_table,
        the_console_works_offline_and_runs_a_query,
    ]
}

/// The Chromium binary on PATH, if any.
pub fn chromium_path() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"].iter().find_map(|name| {
        std::env::var_os("PATH")?.to_str()?.split(':').map(|dir| PathBuf::from(dir).join(name)).find(|p| p.is_file())
    })
}

/// The Chromium binary; the harness ignores this test where there is none, except under
/// CI, where it fails here.
fn chromium() -> PathBuf {
    chromium_path().expect("no chromium on PATH: under CI the browser tests must run (apt-get install chromium)")
}

/// A headless Chromium and one page of it, over the DevTools protocol.
struct Browser {
    _child: Child,
    _profile: tempfile::TempDir,
    socket: WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>,
    session: String,
    next_id: u64,
    /// Console errors, uncaught exceptions and failed loads seen so far.
    errors: Vec<String>,
}

impl Browser {
    async fn launch(binary: &PathBuf) -> Self {
        let profile = tempfile::tempdir().expect("profile dir");
        let mut child = Command::new(binary)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-extensions",
                "--remote-debugging-port=0",
                "--window-size=1280,900",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("chromium starts");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let endpoint = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.expect("chromium's stderr") {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    return url.trim().to_owned();
                }
            }
            panic!("chromium exited before listening");
        })
        .await
        .expect("chromium listens within 30 s");
        // Keep draining its stderr so that it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let (socket, _) = tokio_tungstenite::connect_async(endpoint.as_str()).await.expect("DevTools connects");
        let mut browser =
            Self { _child: child, _profile: profile, socket, session: String::new(), next_id: 0, errors: vec![] };
        let target = browser.call(None, "Target.createTarget", json!({ "url": "about:blank" })).await;
        let attached = browser
            .call(None, "Target.attachToTarget", json!({ "targetId": target["targetId"], "flatten": true }))
            .await;
        browser.session = attached["sessionId"].as_str().expect("a session").to_owned();
        for domain in ["Runtime.enable", "Log.enable", "Page.enable"] {
            browser.page(domain, json!({})).await;
        }
        browser
    }

    /// Sends a command (to the page's session when `session` is given) and waits for its
    /// answer, noting errors reported meanwhile.
    async fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
            message["sessionId"] = json!(s);
        }
        self.socket.send(Message::text(message.to_string())).await.expect("command sent");
        let answer = tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                let Some(Ok(Message::Text(text))) = self.socket.next().await else { panic!("DevTools closed") };
                let message: Value = serde_json::from_str(&text).expect("JSON");
                if message["id"] == json!(id) {
                    return message;
                }
                self.note(&message);
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{method} answered within 30 s"));
        assert!(answer.get("error").is_none(), "{method} failed: {answer}");
        answer["result"].clone()
    }

    async fn page(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.call(Some(&session), method, params).await
    }

    fn note(&mut self, event: &Value) {
        let params = &event["params"];
        match event["method"].as_str() {
            Some("Runtime.consoleAPICalled") if params["type"] == "error" => {
                self.errors.push(format!("console.error: {}", params["args"]));
            }
            Some("Runtime.exceptionThrown") => self.errors.push(format!("exception: {}", params["exceptionDetails"])),
            Some("Log.entryAdded") if params["entry"]["level"] == "error" => {
                self.errors.push(format!("log: {}", params["entry"]["text"]));
            }
            _ => {}
        }
    }

    /// The value of a JavaScript expression in the page.
    async fn eval(&mut self, expression: &str) -> Value {
        let result = self
            .page("Runtime.evaluate", json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }))
            .await;
        assert!(result.get("exceptionDetails").is_none(), "{expression} threw: {result}");
        result["result"]["value"].clone()
    }

    /// Waits (up to 20 s) until `condition` is true in the page.
    async fn wait_for(&mut self, condition: &str) {
        for _ in 0..200 {
            if self.eval(condition).await == json!(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("never true: {condition}; errors: {:?}", self.errors);
    }

    /// Writes a PNG of the page at this viewport size into the tests' temporary directory
    /// (`target/tmp`), for a person to look at. The viewport stays at that size.
    async fn screenshot(&mut self, name: &str, width: u32, height: u32, mobile: bool) {
        let metrics = json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile });
        self.page("Emulation.setDeviceMetricsOverride", metrics).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let png = self.page("Page.captureScreenshot", json!({ "format": "png" })).await;
        let bytes = base64::engine::general_purpose::STANDARD.decode(png["data"].as_str().unwrap()).expect("PNG");
        let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
        std::fs::write(&path, &bytes).expect("screenshot written");
        eprintln!("dashboard screenshot: {}", path.display());
    }

    async fn open(&mut self, url: &str) {
        self.page("Page.navigate", json!({ "url": url })).await;
        self.wait_for("document.readyState === 'complete' && document.body.dataset.ready === 'true'").await;
        self.wait_for("document.querySelectorAll('#commitments tbody tr').length > 0").await;
    }
}

async fn graphql(app: &TestApp, query: &str) -> Value {
    let body: Value = app
        .client
        .post(app.graphql_url())
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("JSON");
    assert!(body.get("errors").is_none(), "{body}");
    body["data"].clone()
}

async fn the_dashboard_shows_the_api_figures_and_its_search_filters_the_table() {
    let binary = chromium();
    let app = TestApp::spawn_current(Backend::Sqlite).await.expect("SQLite always runs");
    let base = format!("http://{}/", app.address);
    let mut browser = Browser::launch(&binary).await;
    browser.open(&format!("{base}?lang=en")).await;

    // For a person to look at (the README shows a copy: docs/dashboard.png).
    browser.screenshot("dashboard.png", 1280, 2300, false).await;
    // On a phone: nothing wider than the screen (the table scrolls inside its own box).
    browser.screenshot("dashboard-phone.png", 390, 2400, true).await;
    let overflow = browser.eval("document.documentElement.scrollWidth").await;
    assert!(overflow.as_u64().unwrap() <= 390, "the page is {overflow} px wide on a 390 px phone");
    // Long names wrap onto more lines: none is cut with "…", none runs past the chart's edge.
    let charts = "['#events-chart', '#series-chart', '#pledger-chart', '#sector-chart', '#signatory-chart']\
        .flatMap(c => [...document.querySelectorAll(c + ' svg > g > text')])";
    let cut = browser.eval(&format!("{charts}.filter(t => t.textContent.includes('…')).map(t => t.textContent)")).await;
    assert_eq!(cut, json!([]), "labels cut on a phone");
    let wide = browser
        .eval(&format!(
            "{charts}.filter(t => t.getBoundingClientRect().right > t.ownerSVGElement.getBoundingClientRect().right + 1)\
             .map(t => t.textContent)"
        ))
        .await;
    assert_eq!(wide, json!([]), "labels past the chart's edge on a phone");
    browser.page("Emulation.clearDeviceMetricsOverride", json!({})).await;

    // The headline is the totals query's, exactly.
    let summit =
        graphql(&app, r#"{ totals(filter: { events: ["ai-action-summit-2025"] }) { grandTotal { low high count } } }"#)
            .await;
    let total = &summit["totals"]["grandTotal"];
    let shown = browser
        .eval("(() => { const n = document.getElementById('headline-total'); return [n.dataset.low, n.dataset.high, n.textContent]; })()")
        .await;
    assert_eq!(shown[0], total["low"]);
    assert_eq!(shown[1], total["high"]);
    assert_eq!(shown[2], json!("318.2 bn EUR"), "the compact figure of {total}");
    let note = browser.eval("document.getElementById('headline-note').textContent").await;
    assert!(note.as_str().unwrap().contains("18 commitments"), "{note}");
    assert!(note.as_str().unwrap().contains("1 EUR = 1.032 USD"), "the rates used are shown: {note}");

    // The figures say how they were made and of which data version: this first view's were
    // computed for it (some may be shared between its questions, and so cached).
    let version = crate::helpers::scalar(&app.db, "SELECT version AS n FROM data_versions WHERE id = 1").await;
    let provenance = browser.eval("document.getElementById('provenance').textContent").await;
    let provenance = provenance.as_str().unwrap();
    assert!(
        provenance.starts_with(&format!("Figures of data version {version}: computed for this view")),
        "{provenance}"
    );

    // Events side by side, Choose France 2024 among them.
    let events = browser.eval("[...document.querySelectorAll('#events-chart g')].map(g => g.dataset.key)").await;
    let events: Vec<&str> = events.as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(events.contains(&"ai-action-summit-2025") && events.contains(&"choose-france-2024"), "{events:?}");

    // The foundation's progress is the foundation query's.
    let foundation =
        graphql(&app, r#"{ foundation(slug: "current-ai") { pledged { low high } share { low high } } }"#).await;
    let pledged = browser.eval("document.getElementById('foundation-pledged').dataset.low").await;
    assert_eq!(pledged, foundation["foundation"]["pledged"]["low"]);
    let progress =
        browser.eval("Number(document.getElementById('foundation-progress').getAttribute('aria-valuenow'))").await;
    let share: f64 = foundation["foundation"]["share"]["low"].as_str().unwrap().parse().unwrap();
    assert!((progress.as_f64().unwrap() - share * 100.0).abs() < 0.06, "{progress} vs {share}");
    assert!(progress.as_f64().unwrap() > 0.0);

    // The headline says which total it is, and what the other one adds.
    let title = browser.eval("document.getElementById('headline-title').textContent").await;
    assert_eq!(title, json!("New money announced at the AI Action Summit"));
    let announced = browser.eval("document.getElementById('headline-announced').textContent").await;
    assert_eq!(
        announced,
        json!(
            "319.4 bn EUR as announced: 1.2 bn EUR of it had been announced before, and counts at its first announcement."
        )
    );
    // A detail inside another pledge is never shown as zero money.
    let gigafactories =
        browser.eval("document.querySelector('#sector-chart g[data-key=\"AI gigafactories\"] text').textContent").await;
    let gigafactories = gigafactories.as_str().unwrap();
    assert!(gigafactories.contains("counted inside “European Commission InvestAI"), "{gigafactories}");
    assert!(!gigafactories.contains(" 0 EUR"), "{gigafactories}");
    // Choose France, edition by edition (2018–2025), beside the summit.
    let series =
        browser.eval("[...document.querySelectorAll('#series-chart g[data-key]')].map(g => g.dataset.key)").await;
    let series: Vec<&str> = series.as_array().unwrap().iter().map(|k| k.as_str().unwrap()).collect();
    assert_eq!(series.len(), 9, "{series:?}");
    assert_eq!(series[8], "ai-action-summit-2025");
    assert!(series[..8].iter().all(|k| k.starts_with("choose-france-20")), "{series:?}");
    // Every Paris signature is dated 11 Feb: a sentence, not an empty-looking chart.
    let one_day = browser.eval("document.getElementById('timeline-one-day').textContent").await;
    assert_eq!(one_day, json!("All 44 dated signatures were recorded on 11 Feb 2025."));

    // The signatory chart is not empty, and its text is real text.
    let signed = browser.eval("document.querySelectorAll('#signatory-chart rect.stance-signed').length").await;
    assert!(signed.as_u64().unwrap() >= 1, "{signed}");
    let declaration = browser.eval("document.querySelector('#signatory-chart g[data-coalition=\"paris-ai-action-statement-2025\"] text').textContent").await;
    assert!(declaration.as_str().unwrap().contains("44 named of 58–64 reported"), "{declaration}");

    // The search box filters the table, accent-insensitively, as the API does.
    let all = browser.eval("document.querySelectorAll('#commitments tbody tr').length").await.as_u64().unwrap();
    let expected =
        graphql(&app, r#"{ commitments(filter: { text: "emirats arabes" }, first: 200) { nodes { slug } } }"#).await;
    let expected: Vec<Value> =
        expected["commitments"]["nodes"].as_array().unwrap().iter().map(|n| n["slug"].clone()).collect();
    assert!(!expected.is_empty() && (expected.len() as u64) < all, "{expected:?} of {all}");
    browser
        .eval("(() => { const s = document.getElementById('search'); s.value = 'emirats arabes'; s.dispatchEvent(new Event('input')); })()")
        .await;
    browser.wait_for("document.getElementById('commitments').dataset.query === 'emirats arabes'").await;
    let rows = browser.eval("[...document.querySelectorAll('#commitments tbody tr')].map(r => r.dataset.slug)").await;
    assert_eq!(rows.as_array().unwrap(), &expected);
    let links = browser.eval("document.querySelectorAll('#commitments tbody tr a[href^=\"http\"]').length").await;
    assert!(links.as_u64().unwrap() >= expected.len() as u64, "each row links to its sources");

    // The currency switch redraws the headline in US dollars, as the API gives it.
    let usd = graphql(
        &app,
        r#"{ totals(filter: { events: ["ai-action-summit-2025"] }, currency: "USD") { grandTotal { low } } }"#,
    )
    .await;
    browser.eval("document.querySelector('[data-currency=\"USD\"]').click()").await;
    let low = usd["totals"]["grandTotal"]["low"].as_str().unwrap().to_owned();
    browser.wait_for(&format!("document.getElementById('headline-total').dataset.low === '{low}'")).await;
    assert!(
        browser.eval("document.getElementById('headline-total').textContent").await.as_str().unwrap().ends_with("USD")
    );

    // A browser that asks for French gets French.
    browser
        .page(
            "Emulation.setUserAgentOverride",
            json!({ "userAgent": "pledgewatch-test", "acceptLanguage": "fr-FR,fr" }),
        )
        .await;
    browser.open(&base).await;
    assert_eq!(browser.eval("document.documentElement.lang").await, json!("fr"));
    let heading = browser.eval("document.querySelector('h1').textContent").await;
    assert_eq!(heading, json!("Le Sommet pour l'action sur l'IA en un coup d'œil"));
    assert_eq!(browser.eval("document.getElementById('headline-total').textContent").await, json!("318,2 Md EUR"));
    // The same view as the first (in euros; the language is not in the request), with
    // nothing written since: every total comes from the engine's cache. The response cache
    // keeps a query from its second run on, so a third view is served from it whole.
    assert_eq!(
        browser.eval("document.getElementById('provenance').textContent").await,
        json!(format!("Chiffres de la version {version} des données : tirés du cache des totaux du serveur."))
    );
    browser.open(&base).await;
    assert_eq!(
        browser.eval("document.getElementById('provenance').textContent").await,
        json!(format!(
            "Chiffres de la version {version} des données, servis tels quels par le cache de réponses du serveur."
        ))
    );
    // Rates in the page's locale too: "1 EUR = 1,0377 USD", not "1.0377".
    let note = browser.eval("document.getElementById('headline-note').textContent").await;
    assert!(note.as_str().unwrap().contains("(1 EUR = 1,0377 USD)"), "{note}");
    // Data labels in French where the data has a French name.
    let declaration = browser.eval("document.querySelector('#signatory-chart g[data-coalition=\"paris-ai-action-statement-2025\"] text title').textContent").await;
    assert_eq!(
        declaration,
        json!("Déclaration sur l'intelligence artificielle durable et inclusive pour la population et la planète")
    );
    let summit = browser
        .eval("document.querySelector('#events-chart g[data-key=\"ai-action-summit-2025\"] text title').textContent")
        .await;
    assert_eq!(summit, json!("Sommet pour l'action sur l'intelligence artificielle"));

    assert!(browser.errors.is_empty(), "the page logged errors: {:#?}", browser.errors);

    // `?q=` and `?currency=` open the page searched and in dollars.
    browser.open(&format!("{base}?lang=en&q=emirats%20arabes&currency=USD")).await;
    browser.wait_for("document.getElementById('commitments').dataset.query === 'emirats arabes'").await;
    let rows = browser.eval("[...document.querySelectorAll('#commitments tbody tr')].map(r => r.dataset.slug)").await;
    assert_eq!(rows.as_array().unwrap(), &expected);
    browser.wait_for(&format!("document.getElementById('headline-total').dataset.low === '{low}'")).await;

    // Live refresh: a write reaches the open page through `totalsChanged`, no reload.
    let mut fresh = crate::helpers::test_commitment("live-on-the-dashboard", "1000000.00", "1000000.00", "EUR");
    fresh.event = Some("ai-action-summit-2025".into());
    let data = pledgewatch::domain::records::DataSet {
        format: pledgewatch::domain::records::FORMAT.to_owned(),
        sources: vec![crate::helpers::test_source()],
        commitments: vec![fresh],
        ..Default::default()
    };
    app.db.import(&data).await.expect("a write");
    let usd = graphql(
        &app,
        r#"{ totals(filter: { events: ["ai-action-summit-2025"] }, currency: "USD") { grandTotal { low } } }"#,
    )
    .await;
    let moved = usd["totals"]["grandTotal"]["low"].as_str().unwrap().to_owned();
    assert_ne!(moved, low);
    browser.wait_for(&format!("document.getElementById('headline-total').dataset.low === '{moved}'")).await;
    assert!(browser.errors.is_empty(), "the page logged errors: {:#?}", browser.errors);

    // Nothing drops silently: a pledge no rate converts (dated after the ECB file ends) is
    // named under the events chart, with its event.
    let mut late = crate::helpers::test_commitment("no-rate-yet", "1000000.00", "1000000.00", "USD");
    late.event = Some("ai-impact-summit-2026".into());
    late.announced_on = Some("2026-11-27".into());
    let data = pledgewatch::domain::records::DataSet {
        format: pledgewatch::domain::records::FORMAT.to_owned(),
        sources: vec![crate::helpers::test_source()],
        commitments: vec![late],
        ..Default::default()
    };
    app.db.import(&data).await.expect("a write");
    let name = graphql(&app, r#"{ event(slug: "ai-impact-summit-2026") { name } }"#).await;
    browser.open(&format!("{base}?lang=en")).await;
    let note = browser.eval("document.getElementById('events-unconverted').textContent").await;
    let note = note.as_str().unwrap();
    assert!(note.starts_with("Not convertible into EUR (no exchange rate for their day): "), "{note}");
    assert!(note.contains(name["event"]["name"].as_str().unwrap()), "{note}");

    // With --private-reads the page cannot read the API, and says why.
    let closed = pledgewatch::http::HttpLimits { public_reads: false, rate_limit: None, ..Default::default() };
    let private = TestApp::spawn_with(Backend::Sqlite, pledgewatch::graphql::ApiLimits::default(), closed)
        .await
        .expect("SQLite always runs");
    // (Not `open`: the page never gets ready without its data.)
    browser.page("Page.navigate", json!({ "url": format!("http://{}/?lang=en", private.address) })).await;
    browser
        .wait_for("(document.getElementById('live')?.textContent ?? '').includes('reads need a token on this server')")
        .await;
}

/// GraphiQL at `/graphql` in a browser that may reach nothing but this server: every file
/// comes from the binary, the example tabs are there, and the first one runs.
async fn the_console_works_offline_and_runs_a_query() {
    let binary = chromium();
    let app = TestApp::spawn_current(Backend::Sqlite).await.expect("SQLite always runs");
    let mut browser = Browser::launch(&binary).await;
    // No internet: any address but this server's is refused.
    browser.page("Network.enable", json!({})).await;
    let blocked =
        json!({ "urls": ["https://*", "*://*.com/*", "*://*.org/*", "*://*.net/*", "*://*.sh/*", "*://*.io/*"] });
    browser.page("Network.setBlockedURLs", blocked).await;
    browser.page("Page.navigate", json!({ "url": format!("http://{}/graphql", app.address) })).await;
    browser
        .wait_for("document.readyState === 'complete' && !!document.querySelector('.graphiql-execute-button')")
        .await;
    let tabs = browser.eval("document.querySelectorAll('.graphiql-tab').length").await;
    assert_eq!(tabs, json!(6), "the README's questions as tabs");
    browser.eval("document.querySelector('.graphiql-execute-button').click()").await;
    browser
        .wait_for(
            "(document.querySelector('.graphiql-response') || { textContent: '' }).textContent.includes('totalCount')",
        )
        .await;
    let answer = browser.eval("document.querySelector('.graphiql-response').textContent").await;
    assert!(answer.as_str().unwrap().contains("\"totalCount\""), "{answer}");
    let foreign = browser
        .eval("performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith(location.origin))")
        .await;
    assert_eq!(foreign, json!([]), "everything comes from this server");
    assert!(browser.errors.is_empty(), "the console logged errors: {:#?}", browser.errors);
}
