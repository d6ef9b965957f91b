//! Python semantics that chat templates rely on and minijinja does not share: `json.dumps` (HF's
//! `tojson`), `str.strip` whitespace, and `strftime_now`.
//!
//! transformers renders templates with Python's jinja2, so a filter such as `trim` strips what
//! Python's `str.isspace` calls whitespace, and `tojson` is `json.dumps(ensure_ascii=False)`
//! without jinja2's HTML escaping.

use std::fmt::Write as _;

use minijinja::value::{Kwargs, ValueKind};
use minijinja::{Error, ErrorKind, State, Value};

/// Whether Python's `str.isspace` holds for `c`: Rust's `char::is_whitespace` plus the four
/// ASCII information separators (U+001C..U+001F), which Python counts and Unicode does not.
pub(crate) fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// Which end(s) of a string `strip` works on.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Side {
    Both,
    Start,
    End,
}

/// Python's `str.strip(chars)` / `lstrip` / `rstrip`; `None` strips Python whitespace.
pub(crate) fn py_strip<'a>(s: &'a str, chars: Option<&str>, side: Side) -> &'a str {
    let pred = |c: char| match chars {
        Some(set) => set.contains(c),
        None => is_py_space(c),
    };
    match side {
        Side::Both => s.trim_matches(pred),
        Side::Start => s.trim_start_matches(pred),
        Side::End => s.trim_end_matches(pred),
    }
}

/// The `trim` filter as jinja2 defines it: `str(value).strip(chars)`.
pub(crate) fn trim_filter(value: &Value, chars: Option<&str>) -> Value {
    let owned;
    let s = match value.as_str() {
        Some(s) => s,
        None => {
            owned = value.to_string();
            &owned
        }
    };
    Value::from(py_strip(s, chars, Side::Both))
}

/// Python string methods whose whitespace differs from Rust's; everything else goes to
/// minijinja-contrib's `pycompat`.
pub(crate) fn unknown_method(
    state: &mut State,
    value: &Value,
    method: &str,
    args: &[Value],
) -> Result<Value, Error> {
    if let Some(s) = value.as_str() {
        let side = match method {
            "strip" => Some(Side::Both),
            "lstrip" => Some(Side::Start),
            "rstrip" => Some(Side::End),
            _ => None,
        };
        if let Some(side) = side {
            let chars = match args {
                [] => None,
                [a] if a.is_none() => None,
                [a] => Some(a.as_str().ok_or_else(|| {
                    Error::new(ErrorKind::InvalidOperation, "strip arg must be None or str")
                })?),
                _ => return Err(Error::from(ErrorKind::TooManyArguments)),
            };
            return Ok(Value::from(py_strip(s, chars, side)));
        }
        if method == "split" && (args.is_empty() || (args.len() == 1 && args[0].is_none())) {
            return Ok(Value::from(
                s.split(is_py_space).filter(|p| !p.is_empty()).map(Value::from).collect::<Vec<_>>(),
            ));
        }
        if method == "isspace" && args.is_empty() {
            return Ok(Value::from(!s.is_empty() && s.chars().all(is_py_space)));
        }
    }
    minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
}

/// HF's `tojson`: `json.dumps(x, ensure_ascii=False, indent=None, separators=None,
/// sort_keys=False)`, with those four as keyword arguments.
pub(crate) fn tojson_filter(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let ensure_ascii: Option<bool> = kwargs.get("ensure_ascii")?;
    let indent: Option<Value> = kwargs.get("indent")?;
    let separators: Option<Value> = kwargs.get("separators")?;
    let sort_keys: Option<bool> = kwargs.get("sort_keys")?;
    kwargs.assert_all_used()?;
    let indent = match indent {
        None => None,
        Some(v) if v.is_none() => None,
        Some(v) if v.is_integer() => {
            let n = i64::try_from(v)?;
            Some(" ".repeat(usize::try_from(n).unwrap_or(0)))
        }
        Some(v) => match v.as_str() {
            Some(s) => Some(s.to_owned()),
            None => {
                return Err(Error::new(ErrorKind::InvalidOperation, "indent must be int or str"));
            }
        },
    };
    let (item_sep, key_sep) = match separators {
        Some(v) if !v.is_none() => {
            let items: Vec<Value> = v.try_iter()?.collect();
            match items.as_slice() {
                [a, b] if a.as_str().is_some() && b.as_str().is_some() => (
                    a.as_str().unwrap_or_default().to_owned(),
                    b.as_str().unwrap_or_default().to_owned(),
                ),
                _ => {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        "separators must be a pair of strings",
                    ));
                }
            }
        }
        // Python's default: ', ' without indent, ',' with it (the newline carries the spacing).
        _ => (if indent.is_some() { "," } else { ", " }.to_owned(), ": ".to_owned()),
    };
    let opts = JsonOptions {
        ensure_ascii: ensure_ascii.unwrap_or(false),
        indent,
        item_sep,
        key_sep,
        sort_keys: sort_keys.unwrap_or(false),
    };
    let mut out = String::new();
    write_json(&mut out, value, &opts, 0)?;
    Ok(Value::from_safe_string(out))
}

struct JsonOptions {
    ensure_ascii: bool,
    indent: Option<String>,
    item_sep: String,
    key_sep: String,
    sort_keys: bool,
}

fn newline(out: &mut String, opts: &JsonOptions, depth: usize) {
    if let Some(ind) = &opts.indent {
        out.push('\n');
        for _ in 0..depth {
            out.push_str(ind);
        }
    }
}

fn write_json(out: &mut String, v: &Value, opts: &JsonOptions, depth: usize) -> Result<(), Error> {
    match v.kind() {
        ValueKind::None => out.push_str("null"),
        ValueKind::Undefined => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                "Object of type Undefined is not JSON serializable",
            ));
        }
        ValueKind::Bool => out.push_str(if v.is_true() { "true" } else { "false" }),
        ValueKind::Number if v.is_integer() => {
            let _ = write!(out, "{v}");
        }
        ValueKind::Number => out.push_str(&py_float_repr(f64::try_from(v.clone())?)),
        ValueKind::String => write_str(out, v.as_str().unwrap_or_default(), opts.ensure_ascii),
        ValueKind::Map => {
            let mut pairs = Vec::new();
            for key in v.try_iter()? {
                let item = v.get_item(&key)?;
                pairs.push((json_key(&key)?, item));
            }
            if opts.sort_keys {
                pairs.sort_by(|a, b| a.0.cmp(&b.0));
            }
            if pairs.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            out.push('{');
            for (i, (k, item)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push_str(&opts.item_sep);
                }
                newline(out, opts, depth + 1);
                write_str(out, k, opts.ensure_ascii);
                out.push_str(&opts.key_sep);
                write_json(out, item, opts, depth + 1)?;
            }
            newline(out, opts, depth);
            out.push('}');
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<Value> = v.try_iter()?.collect();
            if items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(&opts.item_sep);
                }
                newline(out, opts, depth + 1);
                write_json(out, item, opts, depth + 1)?;
            }
            newline(out, opts, depth);
            out.push(']');
        }
        _ => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("object of kind {} is not JSON serializable", v.kind()),
            ));
        }
    }
    Ok(())
}

/// A map key as `json.dumps` writes it: strings as they are, numbers, booleans and None as text.
fn json_key(key: &Value) -> Result<String, Error> {
    Ok(match key.kind() {
        ValueKind::String => key.as_str().unwrap_or_default().to_owned(),
        ValueKind::None => "null".to_owned(),
        ValueKind::Bool => if key.is_true() { "true" } else { "false" }.to_owned(),
        ValueKind::Number if key.is_integer() => key.to_string(),
        ValueKind::Number => py_float_repr(f64::try_from(key.clone())?),
        _ => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                "keys must be str, int, float, bool or None",
            ));
        }
    })
}

fn write_str(out: &mut String, s: &str, ensure_ascii: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if ensure_ascii && !(' '..='~').contains(&c) => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Python's `repr(float)`: shortest round-trip digits, scientific notation when the exponent is
/// below -4 or at least 16, and `NaN`/`Infinity` as `json.dumps` writes them.
pub(crate) fn py_float_repr(x: f64) -> String {
    if x.is_nan() {
        return "NaN".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    // `{:e}` gives the shortest round-trip digits, as in "-1.2345e-7".
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = mantissa.strip_prefix('-').map_or(("", mantissa), |m| ("-", m));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if !(-4..16).contains(&exp) {
        let frac = &digits[1..];
        let mant = if frac.is_empty() {
            digits[..1].to_owned()
        } else {
            format!("{}.{frac}", &digits[..1])
        };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{mant}e{esign}{:02}", exp.abs());
    }
    let point = exp + 1; // digits before the decimal point
    if point <= 0 {
        let zeros = "0".repeat(usize::try_from(-point).unwrap_or(0));
        format!("{sign}0.{zeros}{digits}")
    } else {
        let point = usize::try_from(point).unwrap_or(0);
        if digits.len() <= point {
            format!("{sign}{digits}{}.0", "0".repeat(point - digits.len()))
        } else {
            format!("{sign}{}.{}", &digits[..point], &digits[point..])
        }
    }
}

/// HF's `strftime_now(format)`: the current time formatted with C `strftime` directives. The
/// time is UTC (transformers uses the machine's local time; these machines run in UTC).
pub(crate) fn strftime_now(format: &str) -> Result<Value, Error> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    strftime(format, i64::try_from(secs).unwrap_or(0)).map(Value::from)
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] =
    ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// Formats a Unix time (UTC) with the common `strftime` directives; the calendar is jiff's.
pub(crate) fn strftime(format: &str, unix_secs: i64) -> Result<String, Error> {
    let at = jiff::Timestamp::from_second(unix_secs).map_err(|e| {
        Error::new(ErrorKind::InvalidOperation, format!("strftime_now: {unix_secs} s: {e}"))
    })?;
    let t = jiff::tz::Offset::UTC.to_datetime(at);
    let (year, month, day) = (t.year(), t.month(), t.day());
    let (hour, minute, second) = (t.hour(), t.minute(), t.second());
    let weekday = usize::from(t.weekday().to_monday_zero_offset().unsigned_abs());
    let yday = t.day_of_year();
    let month_name = MONTHS[usize::from(month.unsigned_abs()) - 1];
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(d) = chars.next() else {
            out.push('%');
            break;
        };
        let _ = match d {
            'Y' => write!(out, "{year}"),
            'y' => write!(out, "{:02}", year.rem_euclid(100)),
            'm' => write!(out, "{month:02}"),
            'd' => write!(out, "{day:02}"),
            'e' => write!(out, "{day:2}"),
            'H' => write!(out, "{hour:02}"),
            'I' => write!(out, "{:02}", if hour % 12 == 0 { 12 } else { hour % 12 }),
            'p' => write!(out, "{}", if hour < 12 { "AM" } else { "PM" }),
            'M' => write!(out, "{minute:02}"),
            'S' => write!(out, "{second:02}"),
            'j' => write!(out, "{yday:03}"),
            'B' => write!(out, "{month_name}"),
            'b' | 'h' => write!(out, "{}", &month_name[..3]),
            'A' => write!(out, "{}", WEEKDAYS[weekday]),
            'a' => write!(out, "{}", &WEEKDAYS[weekday][..3]),
            'F' => write!(out, "{year}-{month:02}-{day:02}"),
            'T' => write!(out, "{hour:02}:{minute:02}:{second:02}"),
            '%' => write!(out, "%"),
            other => {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("strftime_now: unsupported directive %{other}"),
                ));
            }
        };
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_float(x: f64, expect: &str) {
        assert_eq!(py_float_repr(x), expect, "{x}");
    }

    #[test]
    fn floats_print_as_python_repr() {
        check_float(1.0, "1.0");
        check_float(-0.5, "-0.5");
        check_float(0.0001, "0.0001");
        check_float(0.00001, "1e-05");
        check_float(1.5e-7, "1.5e-07");
        check_float(1e16, "1e+16");
        check_float(1.2345e16, "1.2345e+16");
        check_float(123456789012345.6, "123456789012345.6");
        check_float(2.75, "2.75");
        check_float(100.0, "100.0");
        check_float(f64::NAN, "NaN");
        check_float(f64::NEG_INFINITY, "-Infinity");
    }

    #[test]
    fn strip_uses_python_whitespace() {
        assert_eq!(py_strip("\x1c a \u{3000}\n", None, Side::Both), "a");
        assert_eq!(py_strip("\u{200b}a", None, Side::Both), "\u{200b}a");
        assert_eq!(py_strip("xxaxx", Some("x"), Side::Start), "axx");
        assert_eq!(py_strip("  a  ", None, Side::End), "  a");
    }

    #[test]
    fn strftime_formats_known_dates() {
        // 2024-07-26 13:05:09 UTC was a Friday.
        let t = 1_722_000_000 - 1_722_000_000 % 86_400 + 13 * 3600 + 5 * 60 + 9;
        assert_eq!(strftime("%d %b %Y", t).unwrap(), "26 Jul 2024");
        assert_eq!(
            strftime("%A %B %j %H:%M:%S %p %I %%", t).unwrap(),
            "Friday July 208 13:05:09 PM 01 %"
        );
        assert_eq!(strftime("%F", 0).unwrap(), "1970-01-01");
        assert!(strftime("%Q", 0).is_err());
    }
}
