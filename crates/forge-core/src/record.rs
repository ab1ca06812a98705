//! The record model: validated names for record types and external ids, and the
//! JSON fields a record carries.
//!
//! Every rule is checked once, in a constructor; a value of these types is
//! valid by construction, so nothing downstream validates it again.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind};

/// The longest record type name accepted, in bytes.
pub const MAX_RECORD_TYPE_LEN: usize = 100;
/// The longest external id accepted, in characters.
pub const MAX_EXTERNAL_ID_CHARS: usize = 255;

/// The name of a kind of record in an ERP (`customer`, `salesOrder`,
/// `customrecord_x`).
///
/// A record type starts with an ASCII letter and continues with ASCII letters,
/// digits, `_`, `-` or `.`, at most [`MAX_RECORD_TYPE_LEN`] bytes. These are
/// the characters every ERP's record type names are drawn from, and they are
/// safe in a URL path segment without encoding.
///
/// ```
/// use forge_core::RecordType;
/// assert_eq!(RecordType::new("salesOrder").unwrap().as_str(), "salesOrder");
/// assert!(RecordType::new("sales order").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct RecordType(String);

impl RecordType {
    /// Validates `name` as a record type.
    ///
    /// Returns [`ErrorKind::InvalidInput`] naming the offending character when
    /// the name is empty, too long, or contains anything but the characters
    /// described on [`RecordType`].
    pub fn new(name: impl Into<String>) -> Result<Self, Error> {
        let name = name.into();
        let invalid = |why: String| {
            Error::new(ErrorKind::InvalidInput, format!("invalid record type {name:?}: {why}"))
                .with_hint(
                    "a record type is a name like `customer`, `salesOrder` or \
                     `customrecord_x`: a letter, then letters, digits, `_`, `-` or `.`",
                )
        };
        if name.is_empty() {
            return Err(invalid("it is empty".into()));
        }
        if name.len() > MAX_RECORD_TYPE_LEN {
            return Err(invalid(format!(
                "it is {} bytes long, the limit is {MAX_RECORD_TYPE_LEN}",
                name.len()
            )));
        }
        if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return Err(invalid("it must start with an ASCII letter".into()));
        }
        if let Some(bad) =
            name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
        {
            return Err(invalid(format!("the character {bad:?} is not allowed")));
        }
        Ok(Self(name))
    }

    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for RecordType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::new(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// The caller's own identifier for a record, the key of every upsert.
///
/// Any Unicode is kept as given (encoding it for a URL is the connector's
/// job), except that an external id may not be empty, may not be longer than
/// [`MAX_EXTERNAL_ID_CHARS`] characters, and may not contain control
/// characters (they are invisible in logs and break protocols silently).
///
/// ```
/// use forge_core::ExternalId;
/// assert_eq!(ExternalId::new("ABC 1/ü").unwrap().as_str(), "ABC 1/ü");
/// assert!(ExternalId::new("").is_err());
/// assert!(ExternalId::new("a\nb").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ExternalId(String);

impl ExternalId {
    /// Validates `id` as an external id.
    ///
    /// Returns [`ErrorKind::InvalidInput`] saying which rule was broken.
    pub fn new(id: impl Into<String>) -> Result<Self, Error> {
        let id = id.into();
        let invalid = |why: String| {
            Error::new(ErrorKind::InvalidInput, format!("invalid external id: {why}")).with_hint(
                "an external id is your own key for the record: 1 to 255 characters, \
                 no control characters (newlines, tabs, NUL)",
            )
        };
        if id.is_empty() {
            return Err(invalid("it is empty".into()));
        }
        let chars = id.chars().count();
        if chars > MAX_EXTERNAL_ID_CHARS {
            return Err(invalid(format!(
                "it is {chars} characters long, the limit is {MAX_EXTERNAL_ID_CHARS}"
            )));
        }
        if let Some((at, bad)) = id.chars().enumerate().find(|(_, c)| c.is_control()) {
            return Err(invalid(format!(
                "it contains the control character U+{:04X} at position {at}",
                u32::from(bad)
            )));
        }
        Ok(Self(id))
    }

    /// The id as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ExternalId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::new(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Which record: its type and the caller's external id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RecordKey {
    /// The kind of record.
    pub record_type: RecordType,
    /// The caller's id for it.
    pub external_id: ExternalId,
}

impl RecordKey {
    /// Pairs a record type with an external id.
    pub fn new(record_type: RecordType, external_id: ExternalId) -> Self {
        Self { record_type, external_id }
    }

    /// Validates both parts at once; see [`RecordType::new`] and [`ExternalId::new`].
    pub fn parse(record_type: &str, external_id: &str) -> Result<Self, Error> {
        Ok(Self::new(RecordType::new(record_type)?, ExternalId::new(external_id)?))
    }
}

impl fmt::Display for RecordKey {
    /// `customer "ABC-1"`: the external id is quoted so spaces and odd
    /// characters stay visible.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}", self.record_type, self.external_id.as_str())
    }
}

/// A record's body fields: a JSON object from field name to value.
///
/// `null` as a value means "clear this field" when written.
///
/// ```
/// use forge_core::Fields;
/// let fields = Fields::from_value(serde_json::json!({"companyName": "Acme"})).unwrap();
/// assert_eq!(fields.get("companyName"), Some(&serde_json::json!("Acme")));
/// assert!(Fields::from_value(serde_json::json!([1, 2])).is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fields(Map<String, Value>);

impl Fields {
    /// Takes a JSON value that must be an object.
    ///
    /// Returns [`ErrorKind::InvalidInput`] naming the JSON type that was given
    /// otherwise.
    pub fn from_value(value: Value) -> Result<Self, Error> {
        match value {
            Value::Object(map) => Ok(Self(map)),
            other => Err(Error::new(
                ErrorKind::InvalidInput,
                format!("record fields must be a JSON object, got {}", json_type(&other)),
            )
            .with_hint(r#"write the fields as an object, e.g. {"companyName": "Acme"}"#)),
        }
    }

    /// The value of one field, if present.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// Sets a field, returning the previous value.
    pub fn insert(&mut self, name: impl Into<String>, value: Value) -> Option<Value> {
        self.0.insert(name.into(), value)
    }

    /// Removes a field, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        self.0.remove(name)
    }

    /// Field names and values in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.0.iter()
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The underlying JSON object.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    /// Applies a write to these fields the way an upsert does: each written
    /// field replaces the stored one, `null` removes it, fields not written
    /// stay as they are.
    pub fn apply(&mut self, written: &Fields) {
        for (name, value) in written.iter() {
            if value.is_null() {
                self.0.remove(name);
            } else {
                self.0.insert(name.clone(), value.clone());
            }
        }
    }
}

impl From<Map<String, Value>> for Fields {
    fn from(map: Map<String, Value>) -> Self {
        Self(map)
    }
}

impl From<Fields> for Value {
    fn from(fields: Fields) -> Self {
        Value::Object(fields.0)
    }
}

impl<K: Into<String>> FromIterator<(K, Value)> for Fields {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Self {
        Self(iter.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
}

/// The JSON type name of a value, for error messages.
pub(crate) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A record as read from an ERP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Its type and external id.
    #[serde(flatten)]
    pub key: RecordKey,
    /// The ERP's own id for it, when the ERP reports one.
    pub internal_id: Option<String>,
    /// Its body fields.
    pub fields: Fields,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_type_rules() {
        for good in ["customer", "salesOrder", "customrecord_x", "a.b-c_9"] {
            assert!(RecordType::new(good).is_ok(), "{good} should be accepted");
        }
        for (bad, says) in [
            ("", "empty"),
            ("9lives", "start with"),
            ("sales order", "' '"),
            ("a/b", "'/'"),
            ("ü", "start with"),
        ] {
            let err = RecordType::new(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            assert!(err.to_string().contains(says), "{bad:?}: {err}");
            assert!(err.hint().is_some());
        }
        let long = "a".repeat(MAX_RECORD_TYPE_LEN + 1);
        assert!(RecordType::new(long).unwrap_err().to_string().contains("limit is 100"));
        assert!(RecordType::new("a".repeat(MAX_RECORD_TYPE_LEN)).is_ok());
    }

    #[test]
    fn external_id_keeps_unicode_and_rejects_control_characters() {
        for good in ["ABC-1", "a b", "x/y?z#%|+", "日本語", "emoji 🦀", " padded "] {
            assert_eq!(ExternalId::new(good).unwrap().as_str(), good);
        }
        assert!(ExternalId::new("").unwrap_err().to_string().contains("empty"));
        let err = ExternalId::new("a\u{7}b").unwrap_err();
        assert!(err.to_string().contains("U+0007 at position 1"), "{err}");
        assert!(ExternalId::new("tab\there").is_err());
        assert!(ExternalId::new("\u{85}").is_err(), "C1 controls are control characters too");
        // The limit counts characters, not bytes.
        assert!(ExternalId::new("é".repeat(MAX_EXTERNAL_ID_CHARS)).is_ok());
        assert!(ExternalId::new("é".repeat(MAX_EXTERNAL_ID_CHARS + 1)).is_err());
    }

    #[test]
    fn deserializing_validates() {
        let key: Result<RecordKey, _> =
            serde_json::from_str(r#"{"record_type":"customer","external_id":""}"#);
        assert!(key.unwrap_err().to_string().contains("empty"));
        let key: RecordKey =
            serde_json::from_str(r#"{"record_type":"customer","external_id":"A"}"#).unwrap();
        assert_eq!(key.to_string(), r#"customer "A""#);
    }

    #[test]
    fn apply_replaces_clears_and_keeps() {
        let mut stored: Fields =
            [("a", Value::from(1)), ("b", Value::from(2))].into_iter().collect();
        let written: Fields = [("a", Value::from(10)), ("b", Value::Null), ("c", Value::from(3))]
            .into_iter()
            .collect();
        stored.apply(&written);
        let expected: Fields =
            [("a", Value::from(10)), ("c", Value::from(3))].into_iter().collect();
        assert_eq!(stored, expected);
    }

    #[test]
    fn fields_must_be_an_object() {
        let err = Fields::from_value(Value::from("x")).unwrap_err();
        assert!(err.to_string().contains("got a string"), "{err}");
    }
}
