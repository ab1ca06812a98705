//! The default read-back comparison: does what an ERP returns show what was
//! written?
//!
//! ERPs add to what they are sent (ids, display names, links) and reformat
//! numbers, so an equality test would fail every honest write. The rule here
//! looks only at what was sent: every sent field must be present with an equal
//! value, objects compare on the keys that were sent, arrays element by
//! element, numbers by numeric value, and a sent `null` (a cleared field)
//! matches a missing field or `null`.

use serde_json::{Number, Value};

use crate::error::FieldDiff;
use crate::record::Fields;

/// Compares the fields that were sent with a record's read-back, returning
/// one [`FieldDiff`] per leaf that differs (empty means they match).
///
/// ```
/// use forge_core::{Fields, matching::diff_fields};
/// use serde_json::json;
/// let sent = Fields::from_value(json!({"subsidiary": {"id": "7"}, "amount": 10})).unwrap();
/// let read = Fields::from_value(json!({
///     "subsidiary": {"id": "7", "refName": "Acme", "links": []},
///     "amount": 10.0,
///     "id": "345",
/// })).unwrap();
/// assert!(diff_fields(&sent, &read).is_empty());
/// ```
pub fn diff_fields(sent: &Fields, read_back: &Fields) -> Vec<FieldDiff> {
    let mut diffs = Vec::new();
    for (name, value) in sent.iter() {
        diff_value(name.clone(), value, read_back.get(name), &mut diffs);
    }
    diffs
}

fn diff_value(path: String, sent: &Value, got: Option<&Value>, out: &mut Vec<FieldDiff>) {
    let mismatch = |out: &mut Vec<FieldDiff>, path: String| {
        out.push(FieldDiff { field: path, sent: sent.clone(), read_back: got.cloned() });
    };
    match (sent, got) {
        (Value::Null, None | Some(Value::Null)) => {}
        (_, None) => mismatch(out, path),
        (Value::Object(sent_map), Some(Value::Object(got_map))) => {
            for (key, value) in sent_map {
                diff_value(format!("{path}.{key}"), value, got_map.get(key), out);
            }
        }
        (Value::Array(sent_items), Some(Value::Array(got_items))) => {
            if sent_items.len() != got_items.len() {
                return mismatch(out, path);
            }
            for (index, (s, g)) in sent_items.iter().zip(got_items).enumerate() {
                diff_value(format!("{path}[{index}]"), s, Some(g), out);
            }
        }
        (Value::Number(a), Some(Value::Number(b))) => {
            if !numbers_equal(a, b) {
                mismatch(out, path);
            }
        }
        (a, Some(b)) => {
            if a != b {
                mismatch(out, path);
            }
        }
    }
}

/// Numeric equality across JSON's integer and float spellings: `1 == 1.0`,
/// and integers beyond `f64` precision compare exactly.
fn numbers_equal(a: &Number, b: &Number) -> bool {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return x == y;
    }
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(v: Value) -> Fields {
        Fields::from_value(v).unwrap()
    }

    fn paths(sent: Value, read: Value) -> Vec<String> {
        diff_fields(&fields(sent), &fields(read)).into_iter().map(|d| d.field).collect()
    }

    #[test]
    fn extra_fields_in_the_read_back_are_fine() {
        assert!(paths(json!({"a": "x"}), json!({"a": "x", "id": "1", "links": []})).is_empty());
    }

    #[test]
    fn nested_objects_compare_on_the_keys_sent() {
        let read = json!({"ref": {"id": "7", "refName": "Acme", "links": [{"rel": "self"}]}});
        assert!(paths(json!({"ref": {"id": "7"}}), read.clone()).is_empty());
        assert_eq!(paths(json!({"ref": {"id": "8"}}), read.clone()), ["ref.id"]);
        assert_eq!(paths(json!({"ref": {"id": "7", "x": 1}}), read), ["ref.x"]);
        assert_eq!(paths(json!({"ref": {"id": "7"}}), json!({"ref": "7"})), ["ref"]);
    }

    #[test]
    fn arrays_compare_element_by_element_and_by_length() {
        let read = json!({"lines": [{"item": 1, "qty": 2, "line": 1}, {"item": 3, "qty": 4}]});
        assert!(paths(json!({"lines": [{"item": 1}, {"qty": 4}]}), read.clone()).is_empty());
        assert_eq!(
            paths(json!({"lines": [{"item": 1}, {"qty": 5}]}), read.clone()),
            ["lines[1].qty"]
        );
        assert_eq!(paths(json!({"lines": [{"item": 1}]}), read.clone()), ["lines"]);
        assert_eq!(paths(json!({"lines": [[1], [2]]}), read), ["lines[0]", "lines[1]"]);
    }

    #[test]
    fn numbers_compare_numerically() {
        assert!(paths(json!({"n": 1}), json!({"n": 1.0})).is_empty());
        assert!(paths(json!({"n": -3}), json!({"n": -3.0})).is_empty());
        assert!(paths(json!({"n": u64::MAX}), json!({"n": u64::MAX})).is_empty());
        assert_eq!(
            paths(json!({"n": 9007199254740993_u64}), json!({"n": 9007199254740992_u64})),
            ["n"]
        );
        assert_eq!(paths(json!({"n": 1}), json!({"n": 1.5})), ["n"]);
        assert_eq!(paths(json!({"n": 1}), json!({"n": "1"})), ["n"], "a string is not a number");
    }

    #[test]
    fn sent_null_matches_missing_or_null_only() {
        assert!(paths(json!({"a": null}), json!({})).is_empty());
        assert!(paths(json!({"a": null}), json!({"a": null})).is_empty());
        assert!(paths(json!({"o": {"a": null}}), json!({"o": {}})).is_empty());
        assert_eq!(paths(json!({"a": null}), json!({"a": 0})), ["a"]);
        assert_eq!(paths(json!({"a": 0}), json!({"a": null})), ["a"]);
    }

    #[test]
    fn missing_fields_are_reported_with_no_read_back_value() {
        let diffs = diff_fields(&fields(json!({"a": 1, "b": 2})), &fields(json!({"b": 2})));
        assert_eq!(diffs.len(), 1);
        assert_eq!(diffs[0].field, "a");
        assert_eq!(diffs[0].read_back, None);
        assert_eq!(diffs[0].to_string(), "a: sent 1, missing on read-back");
    }

    #[test]
    fn scalars_of_different_types_differ() {
        assert_eq!(paths(json!({"b": true}), json!({"b": "true"})), ["b"]);
        assert_eq!(paths(json!({"s": "x"}), json!({"s": "X"})), ["s"]);
    }
}
