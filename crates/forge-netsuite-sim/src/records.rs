//! The simulator's record service: NetSuite's REST semantics over an
//! in-memory store, independent of HTTP plumbing.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value, json};

/// A record as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct SimRecord {
    /// The internal id NetSuite assigned.
    pub id: u64,
    /// The caller's external id, if it has one.
    pub external_id: Option<String>,
    /// The body fields as stored.
    pub fields: Map<String, Value>,
}

/// How a request names a record: `123` or `eid:ABC-1` (already decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordRef {
    /// By internal id.
    Id(u64),
    /// By external id.
    Eid(String),
}

impl RecordRef {
    /// Parses a decoded path segment; `None` if it is neither form.
    pub fn parse(segment: &str) -> Option<Self> {
        match segment.strip_prefix("eid:") {
            Some(eid) if !eid.is_empty() => Some(Self::Eid(eid.to_owned())),
            Some(_) => None,
            None => segment.parse().ok().map(Self::Id),
        }
    }
}

/// An answer: status, optional `Location`, optional JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// The `Location` header.
    pub location: Option<String>,
    /// The JSON body, if any.
    pub body: Option<Value>,
}

impl Reply {
    fn no_content(location: Option<String>) -> Self {
        Self { status: 204, location, body: None }
    }
}

/// NetSuite's error body.
pub fn error(status: u16, code: &str, detail: &str, path: Option<&str>) -> Reply {
    let title = match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        _ => "Error",
    };
    let mut entry = json!({"detail": detail, "o:errorCode": code});
    if let Some(path) = path {
        entry["o:errorPath"] = json!(path);
    }
    Reply {
        status,
        location: None,
        body: Some(json!({
            "type": format!("https://www.rfc-editor.org/rfc/rfc9110.html#status.{status}"),
            "title": title,
            "status": status,
            "o:errorDetails": [entry],
        })),
    }
}

fn missing() -> Reply {
    error(
        404,
        "NONEXISTENT_ID",
        "The record instance does not exist. Provide a valid record instance ID.",
        None,
    )
}

#[derive(Debug, Default)]
struct TypeStore {
    by_id: BTreeMap<u64, SimRecord>,
    by_eid: HashMap<String, u64>,
}

impl TypeStore {
    fn find(&self, reference: &RecordRef) -> Option<u64> {
        match reference {
            RecordRef::Id(id) => self.by_id.contains_key(id).then_some(*id),
            RecordRef::Eid(eid) => self.by_eid.get(eid).copied(),
        }
    }
}

/// What a write request carries besides its body.
#[derive(Debug, Clone, Copy)]
pub struct WriteRules<'a> {
    /// `X-NetSuite-PropertyNameValidation: Error` was sent.
    pub validate_names: bool,
    /// The type's declared fields, if it declares them.
    pub declared: Option<&'a BTreeSet<String>>,
    /// A field to corrupt silently.
    pub corrupt_field: Option<&'a str>,
}

/// Every record, by type.
#[derive(Debug, Default)]
pub struct Store {
    types: HashMap<String, TypeStore>,
    next_id: u64,
}

impl Store {
    /// The records of one type, by internal id.
    pub fn records(&self, record_type: &str) -> Vec<SimRecord> {
        self.types.get(record_type).map(|t| t.by_id.values().cloned().collect()).unwrap_or_default()
    }

    /// One record by external id.
    pub fn by_external_id(&self, record_type: &str, external_id: &str) -> Option<SimRecord> {
        let store = self.types.get(record_type)?;
        store.by_id.get(store.by_eid.get(external_id)?).cloned()
    }

    fn location(base: &str, record_type: &str, id: u64) -> String {
        format!("{base}/services/rest/record/v1/{record_type}/{id}")
    }

    /// `GET {type}/{ref}`, with `fields` limiting the body fields.
    pub fn get(
        &self,
        base: &str,
        record_type: &str,
        reference: &RecordRef,
        fields: Option<&[String]>,
    ) -> Reply {
        let Some(store) = self.types.get(record_type) else { return missing() };
        let Some(record) = store.find(reference).and_then(|id| store.by_id.get(&id)) else {
            return missing();
        };
        let mut body = Map::new();
        body.insert(
            "links".into(),
            json!([{"rel": "self", "href": Self::location(base, record_type, record.id)}]),
        );
        body.insert("id".into(), json!(record.id.to_string()));
        if let Some(eid) = &record.external_id {
            body.insert("externalId".into(), json!(eid));
        }
        for (name, value) in &record.fields {
            if fields.is_some_and(|wanted| !wanted.contains(name)) {
                continue;
            }
            body.insert(name.clone(), self.with_ref_name(value));
        }
        Reply { status: 200, location: None, body: Some(Value::Object(body)) }
    }

    /// A reference written as `{"id": "7"}` reads back with `refName` and
    /// `links`, as NetSuite answers.
    fn with_ref_name(&self, value: &Value) -> Value {
        let Value::Object(map) = value else { return value.clone() };
        let Some(id) = map.get("id").and_then(|id| match id {
            Value::String(s) => s.parse::<u64>().ok(),
            Value::Number(n) => n.as_u64(),
            _ => None,
        }) else {
            return value.clone();
        };
        let mut map = map.clone();
        map.entry("refName").or_insert_with(|| json!(self.name_of(id)));
        map.entry("links").or_insert_with(|| json!([]));
        Value::Object(map)
    }

    fn name_of(&self, id: u64) -> String {
        let record = self.types.values().find_map(|t| t.by_id.get(&id));
        record
            .and_then(|r| {
                ["companyName", "entityId", "name", "title"]
                    .iter()
                    .find_map(|f| r.fields.get(*f).and_then(Value::as_str))
            })
            .map_or_else(|| format!("Record {id}"), str::to_owned)
    }

    /// Checks a write body and applies the write rules to it: the fields to
    /// store, or the error answer.
    fn prepare(body: &[u8], rules: &WriteRules<'_>) -> Result<Map<String, Value>, Reply> {
        let Ok(Value::Object(mut fields)) = serde_json::from_slice::<Value>(body) else {
            return Err(error(
                400,
                "INVALID_CONTENT",
                "The request body must be a JSON object.",
                None,
            ));
        };
        for reserved in ["id", "links"] {
            fields.remove(reserved);
        }
        if let Some(declared) = rules.declared {
            let unknown: Vec<String> = fields
                .keys()
                .filter(|k| *k != "externalId" && !declared.contains(*k))
                .cloned()
                .collect();
            if let (true, Some(name)) = (rules.validate_names, unknown.first()) {
                return Err(error(
                    400,
                    "NONEXISTENT_FIELD",
                    &format!("Invalid field name '{name}': the record type has no such field."),
                    Some(name),
                ));
            }
            for name in unknown {
                fields.remove(&name);
            }
        }
        if let Some(field) = rules.corrupt_field
            && let Some(value) = fields.get_mut(field)
            && !value.is_null()
        {
            *value = corrupted(value);
        }
        Ok(fields)
    }

    fn apply(record: &mut SimRecord, fields: Map<String, Value>) {
        for (name, value) in fields {
            if name == "externalId" {
                continue;
            }
            if value.is_null() {
                record.fields.remove(&name);
            } else {
                record.fields.insert(name, value);
            }
        }
    }

    fn insert(
        &mut self,
        record_type: &str,
        external_id: Option<String>,
        fields: Map<String, Value>,
    ) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        let store = self.types.entry(record_type.to_owned()).or_default();
        let mut record = SimRecord { id, external_id: external_id.clone(), fields: Map::new() };
        Self::apply(&mut record, fields);
        if let Some(eid) = external_id {
            store.by_eid.insert(eid, id);
        }
        store.by_id.insert(id, record);
        id
    }

    /// `PUT {type}/eid:{x}`: creates or updates by external id.
    pub fn upsert(
        &mut self,
        base: &str,
        record_type: &str,
        reference: &RecordRef,
        body: &[u8],
        rules: &WriteRules<'_>,
    ) -> Reply {
        let RecordRef::Eid(eid) = reference else {
            return error(
                400,
                "INVALID_REQUEST",
                "PUT is supported only with an external id (eid:).",
                None,
            );
        };
        let fields = match Self::prepare(body, rules) {
            Ok(fields) => fields,
            Err(reply) => return reply,
        };
        let store = self.types.entry(record_type.to_owned()).or_default();
        let id = match store.by_eid.get(eid).copied() {
            Some(id) => {
                if let Some(record) = store.by_id.get_mut(&id) {
                    Self::apply(record, fields);
                }
                id
            }
            None => self.insert(record_type, Some(eid.clone()), fields),
        };
        Reply::no_content(Some(Self::location(base, record_type, id)))
    }

    /// `POST {type}`: creates a record, with the external id from the body.
    pub fn create(
        &mut self,
        base: &str,
        record_type: &str,
        body: &[u8],
        rules: &WriteRules<'_>,
    ) -> Reply {
        let fields = match Self::prepare(body, rules) {
            Ok(fields) => fields,
            Err(reply) => return reply,
        };
        let external_id = fields.get("externalId").and_then(Value::as_str).map(str::to_owned);
        if let Some(eid) = &external_id
            && self.by_external_id(record_type, eid).is_some()
        {
            return error(
                400,
                "USER_ERROR",
                &format!("A record with external id '{eid}' already exists."),
                Some("externalId"),
            );
        }
        let id = self.insert(record_type, external_id, fields);
        Reply::no_content(Some(Self::location(base, record_type, id)))
    }

    /// `PATCH {type}/{ref}`: updates an existing record.
    pub fn update(
        &mut self,
        record_type: &str,
        reference: &RecordRef,
        body: &[u8],
        rules: &WriteRules<'_>,
    ) -> Reply {
        let Some(store) = self.types.get_mut(record_type) else { return missing() };
        let Some(record) = store.find(reference).and_then(|id| store.by_id.get_mut(&id)) else {
            return missing();
        };
        let fields = match Self::prepare(body, rules) {
            Ok(fields) => fields,
            Err(reply) => return reply,
        };
        Self::apply(record, fields);
        Reply::no_content(None)
    }

    /// `DELETE {type}/{ref}`.
    pub fn delete(&mut self, record_type: &str, reference: &RecordRef) -> Reply {
        let Some(store) = self.types.get_mut(record_type) else { return missing() };
        let Some(id) = store.find(reference) else { return missing() };
        if let Some(record) = store.by_id.remove(&id)
            && let Some(eid) = record.external_id
        {
            store.by_eid.remove(&eid);
        }
        Reply::no_content(None)
    }
}

/// What a corrupted write stores instead of `value`: visibly different,
/// same JSON type where that is possible.
fn corrupted(value: &Value) -> Value {
    match value {
        Value::String(s) => json!(format!("{s} (corrupted)")),
        Value::Number(n) => json!(n.as_f64().map_or(0.0, |f| f + 1.0)),
        Value::Bool(b) => json!(!b),
        _ => json!("(corrupted)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "http://sim";

    fn rules() -> WriteRules<'static> {
        WriteRules { validate_names: true, declared: None, corrupt_field: None }
    }

    fn eid(s: &str) -> RecordRef {
        RecordRef::Eid(s.into())
    }

    #[test]
    fn references_parse() {
        assert_eq!(RecordRef::parse("42"), Some(RecordRef::Id(42)));
        assert_eq!(RecordRef::parse("eid:a/b"), Some(eid("a/b")));
        assert_eq!(RecordRef::parse("eid:"), None);
        assert_eq!(RecordRef::parse("abc"), None);
    }

    #[test]
    fn upsert_creates_then_updates_and_null_clears() {
        let mut store = Store::default();
        let first = store.upsert(BASE, "customer", &eid("A"), br#"{"a":1,"b":2}"#, &rules());
        assert_eq!(first.status, 204);
        assert_eq!(
            first.location.as_deref(),
            Some("http://sim/services/rest/record/v1/customer/1")
        );
        let second = store.upsert(BASE, "customer", &eid("A"), br#"{"a":10,"b":null}"#, &rules());
        assert_eq!(second.location, first.location, "same record, same id");
        assert_eq!(
            Value::Object(store.by_external_id("customer", "A").unwrap().fields),
            json!({"a": 10})
        );
        assert_eq!(store.upsert(BASE, "customer", &RecordRef::Id(1), b"{}", &rules()).status, 400);
        assert_eq!(store.upsert(BASE, "customer", &eid("A"), b"[1]", &rules()).status, 400);
    }

    #[test]
    fn get_shows_id_external_id_links_and_ref_names() {
        let mut store = Store::default();
        store.upsert(BASE, "subsidiary", &eid("HQ"), br#"{"name":"Head Office"}"#, &rules());
        store.upsert(
            BASE,
            "customer",
            &eid("A"),
            br#"{"companyName":"Acme","subsidiary":{"id":"1"},"other":{"id":"99"}}"#,
            &rules(),
        );
        let body = store.get(BASE, "customer", &eid("A"), None).body.unwrap();
        assert_eq!(body["id"], "2");
        assert_eq!(body["externalId"], "A");
        assert_eq!(body["links"][0]["href"], "http://sim/services/rest/record/v1/customer/2");
        assert_eq!(body["subsidiary"]["refName"], "Head Office");
        assert_eq!(body["other"]["refName"], "Record 99");
        let limited = store
            .get(BASE, "customer", &RecordRef::Id(2), Some(&["companyName".into()]))
            .body
            .unwrap();
        assert!(limited.get("subsidiary").is_none() && limited["companyName"] == "Acme");
        let absent = store.get(BASE, "customer", &eid("nope"), None);
        assert_eq!(
            (absent.status, &absent.body.unwrap()["o:errorDetails"][0]["o:errorCode"]),
            (404, &json!("NONEXISTENT_ID"))
        );
    }

    #[test]
    fn create_patch_and_delete() {
        let mut store = Store::default();
        let created = store.create(BASE, "customer", br#"{"externalId":"X","a":1}"#, &rules());
        assert_eq!(created.status, 204);
        assert_eq!(
            store.create(BASE, "customer", br#"{"externalId":"X"}"#, &rules()).status,
            400,
            "duplicate external id"
        );
        assert_eq!(
            store.update("customer", &RecordRef::Id(1), br#"{"a":2}"#, &rules()).status,
            204
        );
        assert_eq!(store.by_external_id("customer", "X").unwrap().fields["a"], 2);
        assert_eq!(
            store.update("customer", &RecordRef::Id(9), br#"{"a":2}"#, &rules()).status,
            404
        );
        assert_eq!(store.delete("customer", &eid("X")).status, 204);
        assert_eq!(store.delete("customer", &eid("X")).status, 404);
        assert!(store.by_external_id("customer", "X").is_none());
    }

    #[test]
    fn declared_fields_are_validated_or_silently_dropped() {
        let declared: BTreeSet<String> = ["companyName".to_owned()].into();
        let strict =
            WriteRules { validate_names: true, declared: Some(&declared), corrupt_field: None };
        let lax = WriteRules { validate_names: false, ..strict };
        let mut store = Store::default();
        let refused = store.upsert(
            BASE,
            "customer",
            &eid("A"),
            br#"{"companyName":"A","colour":"red"}"#,
            &strict,
        );
        assert_eq!(refused.status, 400);
        assert_eq!(refused.body.unwrap()["o:errorDetails"][0]["o:errorPath"], "colour");
        assert!(store.by_external_id("customer", "A").is_none(), "nothing written");
        store.upsert(BASE, "customer", &eid("A"), br#"{"companyName":"A","colour":"red"}"#, &lax);
        assert_eq!(
            Value::Object(store.by_external_id("customer", "A").unwrap().fields),
            json!({"companyName": "A"})
        );
    }

    #[test]
    fn corruption_stores_something_else_and_answers_204() {
        let rules = WriteRules { corrupt_field: Some("email"), ..rules() };
        let mut store = Store::default();
        let reply = store.upsert(BASE, "customer", &eid("A"), br#"{"email":"a@b","n":1}"#, &rules);
        assert_eq!(reply.status, 204);
        let stored = store.by_external_id("customer", "A").unwrap().fields;
        assert_eq!(stored["email"], "a@b (corrupted)");
        assert_eq!(stored["n"], 1);
    }
}
