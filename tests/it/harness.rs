//! The test harness (libtest-mimic): every test of this binary is a trial that declares what
//! it needs. A test whose PostgreSQL or Chromium is not installed is reported *ignored*, with
//! the reason, so `cargo test` counts it in its "N ignored"; under CI (any non-empty `CI`)
//! nothing is ignored: the test runs and fails on what is missing.

use std::future::Future;

use libtest_mimic::{Completion, Trial};

/// What a test needs beyond the Rust toolchain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    Nothing,
    /// PostgreSQL's binaries, for a throwaway cluster.
    Postgres,
    /// Debian's `chromium`, for the browser tests.
    Chromium,
}

/// Whether this run is CI's: any non-empty `CI` (`true`, `1`, `yes`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.trim().is_empty())
}

/// Why a test cannot run here, if it cannot.
fn missing(needs: Needs) -> Option<&'static str> {
    match needs {
        Needs::Nothing => None,
        Needs::Postgres => crate::postgres::bin_dir()
            .is_none()
            .then_some("no PostgreSQL under /usr/lib/postgresql (apt-get install postgresql)"),
        Needs::Chromium => {
            crate::dashboard::chromium_path().is_none().then_some("no chromium on PATH (apt-get install chromium)")
        }
    }
}

/// A trial running `body` on its own Tokio runtime (`multi_thread` for the browser tests,
/// which drive a browser and a server at once).
pub fn trial<F, Fut>(name: String, needs: Needs, body: F) -> Trial
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    Trial::ignorable_test(name, move || {
        // Under CI the test runs anyway, and fails on what is missing.
        if let Some(why) = missing(needs)
            && !in_ci()
        {
            return Ok(Completion::ignored_with(why));
        }
        let mut builder = if needs == Needs::Chromium {
            tokio::runtime::Builder::new_multi_thread()
        } else {
            tokio::runtime::Builder::new_current_thread()
        };
        let runtime = builder.enable_all().build().map_err(|e| format!("no Tokio runtime: {e}"))?;
        runtime.block_on(body());
        Ok(Completion::Completed)
    })
}

/// A test of a defect an open issue is to fix: it runs like any other and passes while it
/// still fails (its failure is printed, marked `[pending]`); once it passes, it fails,
/// saying to move it out of `pending`, so that the fix is noticed and the test then guards
/// it. Nothing is skipped under CI. (Unused while no open defect has a pending test.)
#[allow(dead_code)]
pub fn pending<F, Fut>(name: String, needs: Needs, why: &'static str, body: F) -> Trial
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    Trial::ignorable_test(name, move || {
        if let Some(missing) = missing(needs)
            && !in_ci()
        {
            return Ok(Completion::ignored_with(missing));
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("no Tokio runtime: {e}"))?;
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runtime.block_on(body()))) {
            Err(_) => {
                eprintln!("(pending, {why}: still fails, as expected)");
                Ok(Completion::Completed)
            }
            Ok(()) => Err(format!("pending ({why}) now passes: move it out of `pending`").into()),
        }
    })
    .with_kind("pending")
}

/// Declares a module's tests: `both` run once per backend (`sqlite::NAME`,
/// `postgres::NAME`, taking the backend), `postgres` need PostgreSQL, `browser` need
/// Chromium, `plain` need nothing. `pending` are tests of defects an open issue is to fix,
/// run per backend by [`pending`]. Defines the module's `trials()`.
macro_rules! tests {
    ($(both: [$($both:ident),* $(,)?])? $(postgres: [$($pg:ident),* $(,)?])? $(browser: [$($web:ident),* $(,)?])? $(plain: [$($plain:ident),* $(,)?])? $(pending: [$($todo:ident => $why:literal),* $(,)?])?) => {
        /// This module's tests.
        pub fn trials() -> Vec<libtest_mimic::Trial> {
            use crate::harness::{Needs, trial};
            let module = module_path!().rsplit("::").next().unwrap_or_default();
            #[allow(unused_mut)]
            let mut trials = Vec::new();
            $($(
                trials.push(trial(format!("{module}::sqlite::{}", stringify!($both)), Needs::Nothing, || {
                    $both(crate::helpers::Backend::Sqlite)
                }));
                trials.push(trial(format!("{module}::postgres::{}", stringify!($both)), Needs::Postgres, || {
                    $both(crate::helpers::Backend::Postgres)
                }));
            )*)?
            $($(trials.push(trial(format!("{module}::{}", stringify!($pg)), Needs::Postgres, $pg));)*)?
            $($(trials.push(trial(format!("{module}::{}", stringify!($web)), Needs::Chromium, $web));)*)?
            $($(trials.push(trial(format!("{module}::{}", stringify!($plain)), Needs::Nothing, $plain));)*)?
            $($(
                trials.push(crate::harness::pending(format!("{module}::sqlite::{}", stringify!($todo)), Needs::Nothing, $why, || {
                    $todo(crate::helpers::Backend::Sqlite)
                }));
                trials.push(crate::harness::pending(format!("{module}::postgres::{}", stringify!($todo)), Needs::Postgres, $why, || {
                    $todo(crate::helpers::Backend::Postgres)
                }));
            )*)?
            trials
        }
    };
}
pub(crate) use tests;
