//! What a well-formed shipment row holds, and why a row is malformed, in words naming the
//! column and the value: the scan finds the row bad in one boolean; this says which of its
//! checks failed.

/// Years a shipment may carry: the Convention entered into force in 1975; later than 2200 is a
/// typing error (the quota ledger accepts the same range).
pub const TRADE_YEARS: std::ops::RangeInclusive<i32> = 1975..=2200;

/// Fractional digits a quantity may have: quantities are summed exactly as decimals of this
/// scale (an i128 of 38 digits), and one with more digits would be rounded, so it is refused.
pub const QUANTITY_SCALE: usize = 10;
/// Digits before the decimal point: 38 digits in all, less the scale.
pub const QUANTITY_WHOLE_DIGITS_MAX: usize = 28;

/// The problems of a row whose year, quantity, reporter type or a required column failed the
/// scan's checks (`year` and `quantity` are the row's text).
pub(super) fn of_row(
    year: Option<&str>,
    quantity: Option<&str>,
    reporter: Option<&str>,
    required: [(&str, Option<&str>); 4],
) -> Vec<String> {
    let mut out = Vec::new();
    match year
        .map(str::trim)
        .filter(|y| !y.is_empty())
        .map(|y| (y, y.parse::<i32>()))
    {
        None => out.push("Year is empty".to_owned()),
        Some((y, Ok(n))) if !TRADE_YEARS.contains(&n) => out.push(format!(
            "Year {y:?} is out of range: accepted {} to {}",
            TRADE_YEARS.start(),
            TRADE_YEARS.end()
        )),
        Some((y, Err(_))) => out.push(format!("Year {y:?} is not a year: accepted four digits")),
        Some(_) => {}
    }
    match quantity.filter(|q| !q.is_empty()) {
        None => out.push("Quantity is empty".to_owned()),
        Some(q) if !quantity_ok(q) => out.push(format!(
            "Quantity {q:?} is not a quantity: accepted digits with at most one decimal point \
             and at most {QUANTITY_SCALE} decimals (no sign, exponent or separator)"
        )),
        Some(_) => {}
    }
    match reporter {
        Some("E" | "I") => {}
        None | Some("") => out.push("Reporter.type is empty: accepted E or I".to_owned()),
        Some(r) => out.push(format!(
            "Reporter.type {r:?} is neither E (exporter) nor I (importer)"
        )),
    }
    for (column, value) in required {
        if value.is_none_or(|v| v.trim().is_empty()) {
            out.push(format!("{column} is empty"));
        }
    }
    out
}

/// The scan's quantity check, in Rust: the same grammar as its regular expression.
fn quantity_ok(q: &str) -> bool {
    let (whole, fraction) = match q.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (q, None),
    };
    let digits = |s: &str, max: usize| {
        !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())
    };
    digits(whole, QUANTITY_WHOLE_DIGITS_MAX) && fraction.is_none_or(|f| digits(f, QUANTITY_SCALE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_problem_names_its_column_and_value() {
        let p = of_row(
            Some("20x4"),
            Some("1e3"),
            Some("X"),
            [
                ("Taxon", None),
                ("Term", Some("LIV")),
                ("Importer", Some("US")),
                ("Exporter", Some("NA")),
            ],
        );
        assert_eq!(p.len(), 4, "{p:?}");
        assert!(p[0].contains("Year \"20x4\""));
        assert!(p[1].contains("Quantity \"1e3\""));
        assert!(p[2].contains("Reporter.type \"X\""));
        assert_eq!(p[3], "Taxon is empty");
        assert!(
            of_row(
                Some("2024"),
                Some("2.5"),
                Some("E"),
                [("Taxon", Some("x")); 4]
            )
            .is_empty()
        );
        assert_eq!(
            of_row(
                Some("1970"),
                Some("2."),
                Some("I"),
                [("Taxon", Some("x")); 4]
            )
            .len(),
            2
        );
    }
}
