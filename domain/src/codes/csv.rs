//! A minimal RFC 4180 CSV reader for the embedded code lists (quoted fields, doubled quotes).

use std::fmt;

/// A malformed CSV input, with the 1-based line where the problem starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CsvError {
    pub(crate) line: usize,
    pub(crate) message: &'static str,
}

impl fmt::Display for CsvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "csv line {}: {}", self.line, self.message)
    }
}

/// Splits `text` into records of fields.
///
/// Accepts a UTF-8 byte-order mark, LF or CRLF line ends, fields quoted with `"` that may
/// contain commas, line breaks and doubled quotes (`""`). A quote inside an unquoted field or
/// text after a closing quote is an error rather than being guessed at. Empty lines are skipped.
pub(crate) fn parse(text: &str) -> Result<Vec<Vec<String>>, CsvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut records = Vec::new();
    let mut record: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut line = 1;
    let mut chars = text.chars().peekable();
    // True once the current field began with a quote and its closing quote was seen.
    let mut closed_quote = false;
    let mut field_started = false;

    while let Some(c) = chars.next() {
        match c {
            '"' if !field_started => {
                let start_line = line;
                loop {
                    match chars.next() {
                        None => {
                            return Err(CsvError {
                                line: start_line,
                                message: "unterminated quoted field",
                            });
                        }
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            field.push('"');
                        }
                        Some('"') => break,
                        Some(inner) => {
                            if inner == '\n' {
                                line += 1;
                            }
                            field.push(inner);
                        }
                    }
                }
                field_started = true;
                closed_quote = true;
            }
            '"' => {
                return Err(CsvError {
                    line,
                    message: "quote inside an unquoted field",
                });
            }
            ',' => {
                record.push(std::mem::take(&mut field));
                field_started = false;
                closed_quote = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                end_record(&mut records, &mut record, &mut field, field_started);
                field_started = false;
                closed_quote = false;
                line += 1;
            }
            other => {
                if closed_quote {
                    return Err(CsvError {
                        line,
                        message: "text after a closing quote",
                    });
                }
                field.push(other);
                field_started = true;
            }
        }
    }
    end_record(&mut records, &mut record, &mut field, field_started);
    Ok(records)
}

fn end_record(
    records: &mut Vec<Vec<String>>,
    record: &mut Vec<String>,
    field: &mut String,
    field_started: bool,
) {
    // A line with no content at all (e.g. the trailing newline) is not a record.
    if record.is_empty() && !field_started {
        return;
    }
    record.push(std::mem::take(field));
    records.push(std::mem::take(record));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, expect: &[&[&str]]) {
        let records = parse(input).unwrap();
        let expect: Vec<Vec<String>> = expect
            .iter()
            .map(|r| r.iter().map(|f| f.to_string()).collect())
            .collect();
        assert_eq!(records, expect);
    }

    #[test]
    fn csv_parse_splits_plain_fields_and_skips_the_trailing_newline() {
        check("a,b,c\n1,2,3\n", &[&["a", "b", "c"], &["1", "2", "3"]]);
    }

    #[test]
    fn csv_parse_keeps_empty_fields_including_a_leading_empty_code() {
        check(
            ",number,\nNAR,x,",
            &[&["", "number", ""], &["NAR", "x", ""]],
        );
    }

    #[test]
    fn csv_parse_handles_quoted_commas_doubled_quotes_and_line_breaks() {
        check(
            "R,\"a, b\",\"say \"\"hi\"\"\"\nX,\"two\nlines\",z\n",
            &[&["R", "a, b", "say \"hi\""], &["X", "two\nlines", "z"]],
        );
    }

    #[test]
    fn csv_parse_accepts_crlf_and_a_byte_order_mark() {
        check("\u{feff}a,b\r\n1,2\r\n", &[&["a", "b"], &["1", "2"]]);
    }

    #[test]
    fn csv_parse_rejects_an_unterminated_quote_with_its_line() {
        let err = parse("a,b\n1,\"oops\n").unwrap_err();
        assert_eq!(err.to_string(), "csv line 2: unterminated quoted field");
    }

    #[test]
    fn csv_parse_rejects_stray_quotes() {
        assert_eq!(
            parse("a,b\"c\n").unwrap_err().message,
            "quote inside an unquoted field"
        );
        assert_eq!(
            parse("\"a\"b,c\n").unwrap_err().message,
            "text after a closing quote"
        );
    }
}
