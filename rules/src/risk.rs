//! The risk score of an application that is not refused: weighted indicators, each explained.
//!
//! The score is advisory. It never changes the verdict; it orders the review queue and tells an
//! officer what to look at. Weights and thresholds come from [`RiskConfig`], whose defaults are
//! documented in `rules/risk.default.toml` (a test keeps the two equal).

#[cfg(test)]
mod tests;

use domain::{Appendix, Quantity};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::decision::{Box11a, RiskCode, RiskIndicator, RiskLevel, RiskScore};
use crate::error::{Error, Result};
use crate::facts::Facts;
use crate::input::Application;

/// Largest weight one indicator may carry; keeps the sum of all weights far from overflow.
pub const RISK_WEIGHT_MAX: u32 = 1_000;

/// Longest look-back for the recent-amendment indicator, in days (ten years).
pub const RISK_WINDOW_DAYS_MAX: u32 = 3_650;

/// Weights and thresholds of the risk indicators.
///
/// Every section and key is optional in the TOML text; a missing one keeps its default. Unknown
/// keys are rejected, naming the key, so a misspelt threshold cannot silently fall back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RiskConfig {
    /// The quota is nearly used up once this application is counted.
    pub quota_nearly_used: QuotaNearlyUsed,
    /// The quantity is far above the applicant's earlier permits for the taxon.
    pub quantity_above_history: QuantityAboveHistory,
    /// The specimen is treated as Appendix I.
    pub appendix_i: Weight,
    /// Source C, D, F or R for a taxon under captive-breeding review (Res. Conf. 17.7).
    pub captive_breeding_review: Weight,
    /// Source W from a country outside the taxon's distribution.
    pub wild_outside_distribution: Weight,
    /// The listing was amended recently.
    pub recent_listing_amendment: RecentListingAmendment,
    /// A matching suspension carries conditions in its notes.
    pub suspension_conditions: Weight,
    /// The applicant has refused applications.
    pub refused_applications: RefusedApplications,
    /// Score thresholds of the levels.
    pub levels: Levels,
}

/// An indicator that only has a weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weight {
    /// Points added when the indicator fires.
    pub weight: u32,
}

/// Settings of the quota-nearly-used indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuotaNearlyUsed {
    /// Points added when the indicator fires.
    pub weight: u32,
    /// Fires when box 11a's total after this application reaches this share of the quota,
    /// in percent (1 to 100).
    pub used_percent_min: u32,
}

/// Settings of the quantity-above-history indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuantityAboveHistory {
    /// Points added when the indicator fires.
    pub weight: u32,
    /// Fires when the request exceeds the median of earlier permits by this ratio, in percent
    /// (300 = three times the median; at least 100).
    pub ratio_percent_min: u32,
    /// Earlier permits needed before a median means anything (at least 1).
    pub previous_permits_min: u32,
}

/// Settings of the recent-amendment indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecentListingAmendment {
    /// Points added when the indicator fires.
    pub weight: u32,
    /// Fires when the last listing change took effect at most this many days before today.
    pub window_days: u32,
}

/// Settings of the refused-applications indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RefusedApplications {
    /// Points added when the indicator fires.
    pub weight: u32,
    /// Fires from this many refused applications (at least 1).
    pub count_min: u32,
}

/// Score thresholds of the risk levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Levels {
    /// Scores from this value are MEDIUM.
    pub medium_from: u32,
    /// Scores from this value are HIGH (at least `medium_from`).
    pub high_from: u32,
}

impl Default for RiskConfig {
    /// The documented defaults; `rules/risk.default.toml` spells out the same values.
    fn default() -> RiskConfig {
        RiskConfig {
            quota_nearly_used: QuotaNearlyUsed::default(),
            quantity_above_history: QuantityAboveHistory::default(),
            appendix_i: Weight { weight: 15 },
            captive_breeding_review: Weight { weight: 25 },
            wild_outside_distribution: Weight { weight: 30 },
            recent_listing_amendment: RecentListingAmendment::default(),
            suspension_conditions: Weight { weight: 20 },
            refused_applications: RefusedApplications::default(),
            levels: Levels::default(),
        }
    }
}

impl Default for QuotaNearlyUsed {
    fn default() -> QuotaNearlyUsed {
        QuotaNearlyUsed {
            weight: 20,
            used_percent_min: 90,
        }
    }
}

impl Default for QuantityAboveHistory {
    fn default() -> QuantityAboveHistory {
        QuantityAboveHistory {
            weight: 20,
            ratio_percent_min: 300,
            previous_permits_min: 3,
        }
    }
}

impl Default for RecentListingAmendment {
    fn default() -> RecentListingAmendment {
        RecentListingAmendment {
            weight: 10,
            window_days: 90,
        }
    }
}

impl Default for RefusedApplications {
    fn default() -> RefusedApplications {
        RefusedApplications {
            weight: 15,
            count_min: 1,
        }
    }
}

impl Default for Levels {
    fn default() -> Levels {
        Levels {
            medium_from: 25,
            high_from: 50,
        }
    }
}

impl RiskConfig {
    /// Parses a TOML configuration (the application reads the file). Missing keys keep their
    /// defaults; unknown keys and out-of-range values are errors naming the key.
    pub fn from_toml_str(text: &str) -> Result<RiskConfig> {
        let config: RiskConfig = toml::from_str(text).map_err(|err| Error::Config {
            key: error_key(text, &err),
            message: err.message().to_owned(),
        })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        let weights = [
            ("quota_nearly_used.weight", self.quota_nearly_used.weight),
            (
                "quantity_above_history.weight",
                self.quantity_above_history.weight,
            ),
            ("appendix_i.weight", self.appendix_i.weight),
            (
                "captive_breeding_review.weight",
                self.captive_breeding_review.weight,
            ),
            (
                "wild_outside_distribution.weight",
                self.wild_outside_distribution.weight,
            ),
            (
                "recent_listing_amendment.weight",
                self.recent_listing_amendment.weight,
            ),
            (
                "suspension_conditions.weight",
                self.suspension_conditions.weight,
            ),
            (
                "refused_applications.weight",
                self.refused_applications.weight,
            ),
        ];
        for (key, weight) in weights {
            if weight > RISK_WEIGHT_MAX {
                return Err(config_error(
                    key,
                    format!("{weight} is above the maximum weight {RISK_WEIGHT_MAX}"),
                ));
            }
        }
        let used = self.quota_nearly_used.used_percent_min;
        if !(1..=100).contains(&used) {
            return Err(config_error(
                "quota_nearly_used.used_percent_min",
                format!("{used} is not a percentage from 1 to 100"),
            ));
        }
        let ratio = self.quantity_above_history.ratio_percent_min;
        if ratio < 100 {
            return Err(config_error(
                "quantity_above_history.ratio_percent_min",
                format!("{ratio} is below 100 (the median itself)"),
            ));
        }
        if self.quantity_above_history.previous_permits_min == 0 {
            return Err(config_error(
                "quantity_above_history.previous_permits_min",
                "0 permits cannot give a median; accepted: 1 or more".to_owned(),
            ));
        }
        let window = self.recent_listing_amendment.window_days;
        if window > RISK_WINDOW_DAYS_MAX {
            return Err(config_error(
                "recent_listing_amendment.window_days",
                format!("{window} is above {RISK_WINDOW_DAYS_MAX} days"),
            ));
        }
        if self.refused_applications.count_min == 0 {
            return Err(config_error(
                "refused_applications.count_min",
                "0 would flag every applicant; accepted: 1 or more".to_owned(),
            ));
        }
        if self.levels.high_from < self.levels.medium_from {
            return Err(config_error(
                "levels.high_from",
                format!(
                    "{} is below levels.medium_from {}",
                    self.levels.high_from, self.levels.medium_from
                ),
            ));
        }
        Ok(())
    }
}

fn config_error(key: &str, message: String) -> Error {
    Error::Config {
        key: key.to_owned(),
        message,
    }
}

/// The key a TOML error points at: the text under its span when that is a bare key, otherwise
/// the line number.
fn error_key(text: &str, err: &toml::de::Error) -> String {
    let Some(span) = err.span() else {
        return "(document)".to_owned();
    };
    let under = text.get(span.clone()).unwrap_or("").trim();
    if !under.is_empty()
        && under
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return under.to_owned();
    }
    let line = text
        .get(..span.start)
        .map_or(1, |before| before.matches('\n').count() + 1);
    format!("line {line}")
}

/// What the checks found that the risk indicators need.
pub(crate) struct RiskInputs<'a> {
    pub(crate) application: &'a Application,
    pub(crate) facts: &'a Facts,
    pub(crate) appendix: Option<Appendix>,
    pub(crate) box_11a: Option<&'a Box11a>,
    /// Ids of matching suspensions whose notes carry conditions.
    pub(crate) conditional_suspensions: &'a [i64],
}

/// Scores an application: each indicator is judged on its own, and those that fire with a
/// positive weight add up.
pub(crate) fn score(inputs: &RiskInputs<'_>, config: &RiskConfig) -> RiskScore {
    let indicators: Vec<RiskIndicator> = [
        quota_nearly_used(inputs, config),
        quantity_above_history(inputs, config),
        appendix_i(inputs, config),
        captive_breeding_review(inputs, config),
        wild_outside_distribution(inputs, config),
        recent_listing_amendment(inputs, config),
        suspension_conditions(inputs, config),
        refused_applications(inputs, config),
    ]
    .into_iter()
    .flatten()
    .filter(|indicator| indicator.weight > 0)
    .collect();
    let score = indicators
        .iter()
        .fold(0_u32, |sum, indicator| sum.saturating_add(indicator.weight));
    let level = if score >= config.levels.high_from {
        RiskLevel::High
    } else if score >= config.levels.medium_from {
        RiskLevel::Medium
    } else {
        RiskLevel::Low
    };
    RiskScore {
        score,
        level,
        indicators,
    }
}

fn indicator(code: RiskCode, weight: u32, explanation: String) -> Option<RiskIndicator> {
    Some(RiskIndicator {
        code,
        weight,
        explanation,
    })
}

fn quota_nearly_used(inputs: &RiskInputs<'_>, config: &RiskConfig) -> Option<RiskIndicator> {
    let box_11a = inputs.box_11a.filter(|b| b.quota > Decimal::ZERO)?;
    let threshold = Decimal::from(config.quota_nearly_used.used_percent_min);
    let used_percent = box_11a
        .total_after
        .saturating_mul(Decimal::ONE_HUNDRED)
        .checked_div(box_11a.quota)
        .unwrap_or(Decimal::MAX);
    if used_percent < threshold {
        return None;
    }
    indicator(
        RiskCode::QuotaNearlyUsed,
        config.quota_nearly_used.weight,
        format!(
            "with this application {} of the {} {} quota (id {}) is used: {}% (threshold {}%)",
            box_11a.total_after,
            box_11a.quota,
            box_11a.unit,
            box_11a.quota_id,
            used_percent.round_dp(1).normalize(),
            threshold
        ),
    )
}

fn quantity_above_history(inputs: &RiskInputs<'_>, config: &RiskConfig) -> Option<RiskIndicator> {
    let app = inputs.application;
    let history = &config.quantity_above_history;
    let permits_min = usize::try_from(history.previous_permits_min).unwrap_or(usize::MAX);
    let median = median_in(&inputs.facts.exporter_history, app.quantity())?;
    if median.n_used < permits_min || median.value <= Decimal::ZERO {
        return None;
    }
    let requested = app.quantity().amount();
    let ratio_percent = requested
        .saturating_mul(Decimal::ONE_HUNDRED)
        .checked_div(median.value)
        .unwrap_or(Decimal::MAX);
    if ratio_percent <= Decimal::from(history.ratio_percent_min) {
        return None;
    }
    indicator(
        RiskCode::QuantityAboveHistory,
        history.weight,
        format!(
            "{} {} is {}% of the median {} {} of the applicant's {} earlier permits for this taxon (threshold {}%)",
            requested,
            app.quantity().unit(),
            ratio_percent.round_dp(0).normalize(),
            median.value.normalize(),
            app.quantity().unit(),
            median.n_used,
            history.ratio_percent_min
        ),
    )
}

fn appendix_i(inputs: &RiskInputs<'_>, config: &RiskConfig) -> Option<RiskIndicator> {
    if inputs.appendix != Some(Appendix::I) {
        return None;
    }
    indicator(
        RiskCode::AppendixI,
        config.appendix_i.weight,
        "the specimen is treated as Appendix I, the most threatened species".to_owned(),
    )
}

fn captive_breeding_review(inputs: &RiskInputs<'_>, config: &RiskConfig) -> Option<RiskIndicator> {
    let source = inputs.application.source().code();
    if !inputs.facts.captive_breeding_review || !matches!(source, "C" | "D" | "F" | "R") {
        return None;
    }
    indicator(
        RiskCode::CaptiveBreedingReview,
        config.captive_breeding_review.weight,
        format!(
            "source {source} for a taxon under review of trade in captive-produced specimens (Res. Conf. 17.7)"
        ),
    )
}

fn wild_outside_distribution(
    inputs: &RiskInputs<'_>,
    config: &RiskConfig,
) -> Option<RiskIndicator> {
    let app = inputs.application;
    let distribution = &inputs.facts.distribution;
    let origin = app.origin_or_exporter();
    if app.source().code() != "W" || distribution.is_empty() || distribution.contains(&origin) {
        return None;
    }
    indicator(
        RiskCode::WildOutsideDistribution,
        config.wild_outside_distribution.weight,
        format!(
            "wild specimens from {origin}, which is not in the taxon's distribution ({} countries)",
            distribution.len()
        ),
    )
}

fn recent_listing_amendment(inputs: &RiskInputs<'_>, config: &RiskConfig) -> Option<RiskIndicator> {
    let facts = inputs.facts;
    let window = config.recent_listing_amendment.window_days;
    let last = facts.last_amendment?;
    let days_ago = (facts.today - last).num_days();
    if !(0..=i64::from(window)).contains(&days_ago) {
        return None;
    }
    indicator(
        RiskCode::RecentListingAmendment,
        config.recent_listing_amendment.weight,
        format!(
            "the listing was amended on {last}, {days_ago} days before {} (window {window} days)",
            facts.today
        ),
    )
}

fn suspension_conditions(inputs: &RiskInputs<'_>, config: &RiskConfig) -> Option<RiskIndicator> {
    if inputs.conditional_suspensions.is_empty() {
        return None;
    }
    indicator(
        RiskCode::SuspensionConditions,
        config.suspension_conditions.weight,
        format!(
            "suspension {} covers this trade subject to conditions in its notes",
            inputs
                .conditional_suspensions
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
}

fn refused_applications(inputs: &RiskInputs<'_>, config: &RiskConfig) -> Option<RiskIndicator> {
    let refused = inputs.facts.exporter_refused_applications;
    if refused < config.refused_applications.count_min {
        return None;
    }
    indicator(
        RiskCode::RefusedApplications,
        config.refused_applications.weight,
        format!(
            "the applicant has {refused} refused application(s) (threshold {})",
            config.refused_applications.count_min
        ),
    )
}

struct Median {
    value: Decimal,
    n_used: usize,
}

/// The median of the earlier quantities that convert exactly into the request's unit.
fn median_in(history: &[Quantity], request: Quantity) -> Option<Median> {
    let mut amounts: Vec<Decimal> = history
        .iter()
        .filter_map(|q| {
            // Most histories are in the request's unit; skip the conversion table for those.
            if q.unit() == request.unit() {
                Some(q.amount())
            } else {
                q.convert_to(request.unit()).ok().map(|q| q.amount())
            }
        })
        .collect();
    if amounts.is_empty() {
        return None;
    }
    // Selection instead of a full sort: histories can be long and a check must stay cheap.
    let n_used = amounts.len();
    let mid = n_used / 2;
    let (lower, upper, _) = amounts.select_nth_unstable(mid);
    let upper = *upper;
    let value = if n_used % 2 == 1 {
        upper
    } else {
        let below = lower.iter().copied().max().unwrap_or(upper);
        below.saturating_add(upper) / Decimal::TWO
    };
    Some(Median { value, n_used })
}
