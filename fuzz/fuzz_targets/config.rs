//! config.toml: the TOML document, every account in it (server URLs and
//! lists, SRV settings, security, password sources, Maildir paths) and the
//! outbox settings. The store reads a file, so the input is written to a
//! private temporary file first.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sealpost::store::account::{self, AccountStore, Protocol};

fn path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("sealpost-fuzz-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temporary directory");
        dir.join("config.toml")
    })
}

fuzz_target!(|data: &[u8]| {
    std::fs::write(path(), data).expect("write the temporary config");
    if let Ok(store) = AccountStore::load(path()) {
        let _ = store.keep_sent();
        if let Ok(accounts) = store.list() {
            for a in accounts {
                let _ = a.validate();
                let _ = a.password_env_var();
                let _ = a.maildir_path(std::path::Path::new("/keystore"));
                let _ = store.get(&a.name);
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        for protocol in [Protocol::Smtp, Protocol::Imap, Protocol::Pop3] {
            if let Ok(list) = account::Endpoint::parse_list(protocol, text) {
                for e in list {
                    let _ = (e.host_port(), e.to_string());
                }
            }
            let _ = account::parse_servers(protocol, text);
        }
        let _ = account::check_name(text);
        let _ = account::check_domain(text);
    }
});
