//! Currency conversion with ECB euro reference rates, and the allocation that keeps converted
//! group totals adding up exactly to the converted grand total.
//!
//! Rates are quoted as the ECB publishes them: `rate` units of a currency per 1 EUR. A
//! conversion between two non-euro currencies goes through the euro (the cross rate the ECB
//! itself recommends). Amounts are converted per *bucket* (one currency, one rate), never per
//! row: a bucket's converted total is its exact sum times the rate, rounded once to the
//! reporting currency's minor unit, and the rounding is then shared among the bucket's groups
//! by largest remainder, so the groups of any grouping add up to the same grand total.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy, prelude::ToPrimitive};

/// The base currency of every stored rate.
pub const EURO: &str = "EUR";

/// How many days before the wanted date a published rate may be (weekends and holidays).
pub const MAX_RATE_AGE_DAYS: i64 = 7;

/// The published days a set of rate keys can read, first and last: a day's rate may be up to
/// [`MAX_RATE_AGE_DAYS`] old, a yearly average reads its whole year. `None` when no key
/// needs a rate. Loading only these days keeps a total's rate table small however long the
/// stored history.
pub fn rate_window(keys: impl IntoIterator<Item = RateKey>) -> Option<(NaiveDate, NaiveDate)> {
    keys.into_iter()
        .filter_map(|key| match key {
            RateKey::Day(on) => Some((on - chrono::Days::new(MAX_RATE_AGE_DAYS as u64), on)),
            RateKey::Year(year) => NaiveDate::from_ymd_opt(year, 1, 1).zip(NaiveDate::from_ymd_opt(year, 12, 31)),
            RateKey::Identity | RateKey::Undated => None,
        })
        .reduce(|(a, b), (c, d)| (a.min(c), b.max(d)))
}

/// Which rate converts an amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FxPolicy {
    /// The rate of the commitment's announcement date (the last one published on or before
    /// it, at most [`MAX_RATE_AGE_DAYS`] earlier).
    AnnouncementDate,
    /// One date for every amount, with the same look-back.
    FixedDate(NaiveDate),
    /// The average of the rates published in the year of the announcement.
    YearlyAverage,
}

/// Which rate a bucket of amounts needs, once the policy is applied to its date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RateKey {
    /// The same currency as the report: no rate.
    Identity,
    /// The rate published on, or up to a week before, this date.
    Day(NaiveDate),
    /// The average over this year.
    Year(i32),
    /// The amount has no date, and the policy needs one.
    Undated,
}

impl FxPolicy {
    /// The rate key for an amount dated `date`.
    pub fn key(self, date: Option<NaiveDate>) -> RateKey {
        match (self, date) {
            (Self::FixedDate(d), _) => RateKey::Day(d),
            (Self::AnnouncementDate, Some(d)) => RateKey::Day(d),
            (Self::YearlyAverage, Some(d)) => RateKey::Year(d.year()),
            (_, None) => RateKey::Undated,
        }
    }
}

/// One published rate, or one average of published rates.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EuroRate {
    /// The currency quoted against 1 EUR.
    pub quote: String,
    /// The publication date (for a yearly average: the last date averaged).
    pub on: NaiveDate,
    /// Units of `quote` per 1 EUR.
    pub rate: Decimal,
    /// For a yearly average, its year and how many published rates it averages.
    pub average_of: Option<(i32, usize)>,
}

/// Why an amount could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NoRate {
    /// No rate of `currency` published in the week up to `on`.
    Missing { currency: String, on: NaiveDate },
    /// No rate of `currency` published in `year`.
    MissingYear { currency: String, year: i32 },
    /// The amount has no date to pick a rate by.
    Undated { currency: String },
}

impl NoRate {
    /// A sentence for the report.
    pub fn describe(&self) -> String {
        match self {
            Self::Missing { currency, on } => {
                format!("no EUR/{currency} rate published from {} to {on}", *on - chrono::Days::new(7))
            }
            Self::MissingYear { currency, year } => format!("no EUR/{currency} rate published in {year}"),
            Self::Undated { currency } => format!("no announcement date to pick an EUR/{currency} rate by"),
        }
    }
}

/// The published rates of each currency against the euro, by date.
#[derive(Debug, Clone, Default)]
pub struct RateTable {
    by_currency: HashMap<String, BTreeMap<NaiveDate, Decimal>>,
}

impl RateTable {
    /// Adds a published rate: `rate` units of `quote` per 1 EUR on `on`.
    pub fn insert(&mut self, quote: &str, on: NaiveDate, rate: Decimal) {
        self.by_currency.entry(quote.to_owned()).or_default().insert(on, rate);
    }

    /// The last rate of `currency` published on or before `on`, at most a week earlier.
    pub fn on_or_before(&self, currency: &str, on: NaiveDate) -> Result<EuroRate, NoRate> {
        let oldest = on - chrono::Days::new(MAX_RATE_AGE_DAYS as u64);
        self.by_currency
            .get(currency)
            .and_then(|dates| dates.range(oldest..=on).next_back())
            .map(|(day, rate)| EuroRate { quote: currency.to_owned(), on: *day, rate: *rate, average_of: None })
            .ok_or_else(|| NoRate::Missing { currency: currency.to_owned(), on })
    }

    /// The mean of the rates of `currency` published in `year`, to 6 decimal places (the
    /// ECB publishes 4 to 6 significant digits).
    pub fn yearly_average(&self, currency: &str, year: i32) -> Result<EuroRate, NoRate> {
        let missing = || NoRate::MissingYear { currency: currency.to_owned(), year };
        let dates = self.by_currency.get(currency).ok_or_else(missing)?;
        let start = NaiveDate::from_ymd_opt(year, 1, 1).ok_or_else(missing)?;
        let end = NaiveDate::from_ymd_opt(year, 12, 31).ok_or_else(missing)?;
        let in_year: Vec<(&NaiveDate, &Decimal)> = dates.range(start..=end).collect();
        let (last, _) = in_year.last().ok_or_else(missing)?;
        let sum: Decimal = in_year.iter().map(|(_, r)| **r).sum();
        let mean =
            (sum / Decimal::from(in_year.len())).round_dp_with_strategy(6, RoundingStrategy::MidpointNearestEven);
        Ok(EuroRate { quote: currency.to_owned(), on: **last, rate: mean, average_of: Some((year, in_year.len())) })
    }

    /// The euro rate of `currency` under `key`; the euro itself is 1 and needs no rate.
    pub fn euro_rate(&self, currency: &str, key: RateKey) -> Result<Option<EuroRate>, NoRate> {
        if currency == EURO {
            return Ok(None);
        }
        match key {
            RateKey::Identity => Ok(None),
            RateKey::Day(on) => self.on_or_before(currency, on).map(Some),
            RateKey::Year(year) => self.yearly_average(currency, year).map(Some),
            RateKey::Undated => Err(NoRate::Undated { currency: currency.to_owned() }),
        }
    }

    /// How to convert `from` into `to` under `key`: the rates applied (zero, one or two
    /// legs through the euro).
    pub fn conversion(&self, from: &str, to: &str, key: RateKey) -> Result<Conversion, NoRate> {
        if from == to {
            return Ok(Conversion::default());
        }
        Ok(Conversion { from_leg: self.euro_rate(from, key)?, to_leg: self.euro_rate(to, key)? })
    }
}

/// The rates that convert one currency into another: `amount / from_leg × to_leg`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conversion {
    /// Rate of the source currency per EUR (`None` for the euro or no conversion).
    pub from_leg: Option<EuroRate>,
    /// Rate of the target currency per EUR (`None` for the euro or no conversion).
    pub to_leg: Option<EuroRate>,
}

impl Conversion {
    /// The exact-as-possible converted value of `amount`: multiplied first, divided last,
    /// at `rust_decimal`'s 28 significant digits.
    pub fn apply(&self, amount: Decimal) -> Decimal {
        let mut value = amount;
        if let Some(to) = &self.to_leg {
            value *= to.rate;
        }
        if let Some(from) = &self.from_leg {
            value /= from.rate;
        }
        value
    }

    /// The rates this conversion applies.
    pub fn legs(&self) -> impl Iterator<Item = &EuroRate> {
        self.from_leg.iter().chain(self.to_leg.iter())
    }
}

/// `minor` units of a currency with `from_exp` digits, converted, in (fractional) minor
/// units of the target currency.
fn exact_minor(minor: i128, from_exp: u32, to_exp: u32, conversion: &Conversion) -> Decimal {
    let units = Decimal::from_i128_with_scale(minor, from_exp);
    conversion.apply(units) * Decimal::from(10_i64.pow(to_exp))
}

/// `minor` units converted and rounded once (half to even) to the target's minor unit: how
/// a bucket's converted total is rounded.
pub fn convert_minor(minor: i128, from_exp: u32, to_exp: u32, conversion: &Conversion) -> i128 {
    exact_minor(minor, from_exp, to_exp, conversion)
        .round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven)
        .to_i128()
        .expect("a converted amount fits in i128")
}

/// Converts the amounts of one bucket and shares the rounding so that the parts add up to
/// the bucket's total.
///
/// `parts` are minor units of the source currency (exponent `from_exp`); the result is in
/// minor units of the target currency (exponent `to_exp`): the rounded total (half to even)
/// and each part's share, the floor of its exact value plus one unit for the parts with the
/// largest remainders (ties to the earlier part) until the total is reached.
pub fn allocate(parts: &[i128], from_exp: u32, to_exp: u32, conversion: &Conversion) -> (i128, Vec<i128>) {
    let to_minor = |minor: i128| exact_minor(minor, from_exp, to_exp, conversion);
    let whole = |d: Decimal| d.to_i128().expect("a converted amount fits in i128");
    let sum: i128 = parts.iter().sum();
    let total = convert_minor(sum, from_exp, to_exp, conversion);
    let mut shares = Vec::with_capacity(parts.len());
    let mut remainders = Vec::with_capacity(parts.len());
    for &p in parts {
        let exact = to_minor(p);
        let floor = exact.floor();
        shares.push(whole(floor));
        remainders.push(exact - floor);
    }
    let mut order: Vec<usize> = (0..parts.len()).collect();
    // Largest remainder first; the earlier part first on ties.
    order.sort_unstable_by(|&a, &b| remainders[b].cmp(&remainders[a]).then(a.cmp(&b)));
    let mut deficit = total - shares.iter().sum::<i128>();
    // The deficit is below the number of parts; the loops also cover the last-digit
    // rounding of 28-digit arithmetic, in either direction.
    while deficit > 0 {
        for &i in order.iter().take(deficit.min(order.len() as i128) as usize) {
            shares[i] += 1;
            deficit -= 1;
        }
    }
    while deficit < 0 {
        for &i in order.iter().rev().take((-deficit).min(order.len() as i128) as usize) {
            shares[i] -= 1;
            deficit += 1;
        }
    }
    (total, shares)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_rate_window_covers_the_week_before_each_day_and_whole_years() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(rate_window([RateKey::Identity, RateKey::Undated]), None);
        assert_eq!(rate_window([RateKey::Day(day(2025, 2, 9))]), Some((day(2025, 2, 2), day(2025, 2, 9))));
        assert_eq!(
            rate_window([RateKey::Day(day(2025, 2, 9)), RateKey::Year(2018), RateKey::Identity]),
            Some((day(2018, 1, 1), day(2025, 2, 9)))
        );
    }

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn table() -> RateTable {
        let mut t = RateTable::default();
        t.insert("USD", day("2025-02-07"), dec("1.0323"));
        t.insert("USD", day("2025-02-10"), dec("1.0303"));
        t.insert("GBP", day("2025-02-10"), dec("0.8333"));
        t
    }

    #[test]
    fn a_weekend_date_takes_the_last_published_rate_within_a_week() {
        let t = table();
        assert_eq!(t.on_or_before("USD", day("2025-02-09")).unwrap().on, day("2025-02-07"));
        assert_eq!(t.on_or_before("USD", day("2025-02-14")).unwrap().rate, dec("1.0303"));
        assert_eq!(
            t.on_or_before("USD", day("2025-02-18")),
            Err(NoRate::Missing { currency: "USD".into(), on: day("2025-02-18") })
        );
        assert!(t.on_or_before("USD", day("2025-02-06")).is_err());
    }

    #[test]
    fn the_yearly_average_is_the_mean_of_the_year_rates() {
        let avg = table().yearly_average("USD", 2025).unwrap();
        assert_eq!(avg.rate, dec("1.0313"));
        assert_eq!(avg.average_of, Some((2025, 2)));
        assert!(table().yearly_average("USD", 2024).is_err());
    }

    #[test]
    fn usd_converts_to_eur_by_dividing_and_back_by_multiplying() {
        let t = table();
        let key = FxPolicy::AnnouncementDate.key(Some(day("2025-02-10")));
        let to_eur = t.conversion("USD", "EUR", key).unwrap();
        let (total, _) = allocate(&[500_000_000_000], 2, 2, &to_eur);
        // 5,000,000,000 / 1.0303 = 4,852,955,449.8689...
        assert_eq!(total, 485_295_544_987);
        let to_usd = t.conversion("EUR", "USD", key).unwrap();
        assert_eq!(allocate(&[10], 2, 2, &to_usd).0, 10); // 0.10 × 1.0303 = 0.10303 → 0.10
        let cross = t.conversion("GBP", "USD", key).unwrap();
        assert_eq!(cross.legs().count(), 2);
        assert_eq!(t.conversion("EUR", "EUR", key).unwrap(), Conversion::default());
        assert!(matches!(t.conversion("JPY", "EUR", key), Err(NoRate::Missing { .. })));
        assert!(matches!(t.conversion("USD", "EUR", RateKey::Undated), Err(NoRate::Undated { .. })));
    }

    #[test]
    fn allocation_shares_the_rounding_so_parts_add_up() {
        // Three parts of 0.01 USD at 1.0303: each is 0.0097 EUR; together 0.0291 → 0.03.
        let t = table();
        let conv = t.conversion("USD", "EUR", RateKey::Day(day("2025-02-10"))).unwrap();
        let (total, shares) = allocate(&[1, 1, 1], 2, 2, &conv);
        assert_eq!(total, 3);
        assert_eq!(shares, vec![1, 1, 1]);
        let (total, shares) = allocate(&[100, -100], 2, 2, &conv);
        assert_eq!((total, shares.iter().sum::<i128>()), (0, 0));
    }

    proptest! {
        #[test]
        fn allocated_parts_always_add_up_to_the_rounded_total(
            parts in proptest::collection::vec(-1_000_000_000_000_000_i64..1_000_000_000_000_000, 1..20),
            rate in 1_u32..10_000_000,
            to_exp in 0_u32..=3,
        ) {
            let conv = Conversion {
                from_leg: Some(EuroRate { quote: "XXX".into(), on: NaiveDate::MIN, rate: Decimal::new(i64::from(rate), 4), average_of: None }),
                to_leg: None,
            };
            let wide: Vec<i128> = parts.iter().map(|&p| i128::from(p)).collect();
            let (total, shares) = allocate(&wide, 2, to_exp, &conv);
            prop_assert_eq!(shares.iter().sum::<i128>(), total);
            // Each share is within one minor unit of its exact value part / 100 / (rate / 10^4)
            // × 10^to_exp, checked with integers: |share × rate − part × 10^(to_exp + 2)| < rate.
            for (part, share) in parts.iter().zip(&shares) {
                let exact_scaled = i128::from(*part) * 10_i128.pow(to_exp + 2);
                prop_assert!((share * i128::from(rate) - exact_scaled).abs() < i128::from(rate), "{} {}", part, share);
            }
        }
    }
}
