//! `group serve --log-format json` (issue 16): every line the server writes
//! on stderr, from the first to `stopped`, is one JSON object with its
//! time, level and message.

use std::time::Duration;

use sealpost::group::release::protocol::RefusalCode;
use sealpost::smime::envelope::KeyTransport;
use serde_json::Value;

use super::harness::{assert_refused, member, now, request, seal, List, LIST};

#[test]
fn log_format_json_writes_one_object_per_line() {
    let mut l = List::start(&["--log-format", "json", "-v", "--metrics", "127.0.0.1:0"]);
    let sealed = seal(&l.cert, KeyTransport::RsaOaepSha256);
    let answer = l.release(&request(&member("dave"), LIST, &sealed.entry, now()));
    assert_refused(&answer, RefusalCode::NotMember);
    l.server.signal(libc::SIGTERM);
    let status = l.server.wait_exit(Duration::from_secs(20)).unwrap();
    assert!(status.success(), "{status}");

    let mut lines = l.server.preamble.clone();
    lines.extend(l.server.stop());
    let messages: Vec<String> = lines
        .iter()
        .map(|line| {
            let object: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
            let fields = object.as_object().unwrap();
            let mut keys: Vec<&str> = fields.keys().map(String::as_str).collect();
            keys.sort_unstable();
            assert_eq!(keys, ["level", "message", "time"], "{line}");
            let time = object["time"].as_str().unwrap();
            assert!(time.len() >= 20 && time.ends_with('Z'), "{line}");
            assert_eq!(object["level"], "info", "{line}");
            object["message"].as_str().unwrap().to_string()
        })
        .collect();
    for wanted in ["metrics on http://", "refused not_member", "stopped"] {
        assert!(
            messages.iter().any(|m| m.starts_with(wanted)),
            "no {wanted:?} in {messages:?}"
        );
    }
}
