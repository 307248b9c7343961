//! Checks a `--json` document or error line against the schema in
//! src/cli/json_schema.rs (the source of the man page's JSON OUTPUT),
//! compiled here as it is. Shared by both test binaries (the CLI, mail and
//! group tests).

use std::process::Output;

use serde_json::Value;

#[path = "../../src/cli/json_schema.rs"]
#[allow(dead_code)]
pub mod schema;

/// A `--json` run's stdout: exactly one object, `schema_version` and
/// `command` first, in the shape documented for `command`.
pub fn document(stdout: &[u8], command: &str) -> Value {
    let text = std::str::from_utf8(stdout).expect("UTF-8");
    let start = format!(
        "{{\n  \"schema_version\": \"{}\",\n  \"command\": \"{command}\",",
        schema::SCHEMA_VERSION
    );
    assert!(
        text.starts_with(&start),
        "{command}: starts otherwise: {text}"
    );
    // from_str refuses anything after the one value.
    let value: Value = serde_json::from_str(text).expect("exactly one JSON document");
    let shape = schema::document_shape(command).expect("a documented command");
    if let Err(e) = schema::check(&value, &shape, command) {
        panic!("{e}\nin {text}");
    }
    value
}

/// The JSON error object closing stderr of a failed `--json` run, checked
/// against the documented shape and the exit status.
pub fn error(out: &Output, code: i32) -> Value {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let last = lines.last().expect("stderr is empty");
    assert!(
        lines[0].starts_with("sealpost: error: "),
        "the text line comes first: {stderr}"
    );
    let value: Value = serde_json::from_str(last).expect("the last line is JSON");
    assert!(last.starts_with(&format!(
        "{{\"schema_version\":\"{}\",\"error\":",
        schema::SCHEMA_VERSION
    )));
    let shape = schema::Shape::Object(vec![
        ("schema_version".into(), schema::Shape::String),
        ("error".into(), schema::parse(schema::ERROR).unwrap()),
    ]);
    schema::check(&value, &shape, "error").unwrap();
    assert_eq!(value["error"]["exit_code"], code);
    assert_eq!(
        lines[0],
        format!(
            "sealpost: error: {}",
            value["error"]["message"].as_str().unwrap()
        )
    );
    value
}
