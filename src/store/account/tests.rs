use super::*;

#[test]
fn urls_parse_with_defaults_and_security() {
    let e = Endpoint::parse(Protocol::Smtp, "smtps://Mail.Example.org").unwrap();
    assert_eq!(
        (e.security, e.port, e.host.as_str()),
        (Security::Tls, 465, "mail.example.org")
    );
    let e = Endpoint::parse(Protocol::Smtp, "smtp://127.0.0.1:2525").unwrap();
    assert_eq!((e.security, e.port), (Security::StartTls, 2525));
    let e = Endpoint::parse(Protocol::Imap, "imap://h").unwrap();
    assert_eq!((e.security, e.port), (Security::StartTls, 143));
    let e = Endpoint::parse(Protocol::Pop3, "pop3s://[::1]:9995/").unwrap();
    assert_eq!((e.host.as_str(), e.port), ("::1", 9995));
    assert_eq!(e.to_string(), "pop3s://[::1]:9995");
    let e = Endpoint::parse(Protocol::Pop3, "pop3+plain://h").unwrap();
    assert_eq!((e.security, e.port), (Security::Plain, 110));
    for bad in [
        "mail.example.org",
        "imaps://h:993",
        "smtps://",
        "smtps://h:0",
        "smtps://h:99999",
        "smtps://user@h",
        "smtps://h/path",
    ] {
        let err = Endpoint::parse(Protocol::Smtp, bad).unwrap_err();
        assert_eq!(crate::error::classify(&err).0, Exit::Usage, "{bad}");
    }
    let list = Endpoint::parse_list(Protocol::Smtp, "smtps://a, smtp://b:25").unwrap();
    assert_eq!(list.len(), 2);
    assert!(Endpoint::parse_list(Protocol::Smtp, " , ").is_err());
}

#[test]
fn sizes_parse_with_units_and_bounds() {
    assert_eq!(parse_size("1048576").unwrap(), 1 << 20);
    assert_eq!(parse_size("512M").unwrap(), 512 << 20);
    assert_eq!(parse_size(" 2 GiB ").unwrap(), 2 << 30);
    assert_eq!(parse_size("64k").unwrap(), 64 << 10);
    for bad in [
        "",
        "M",
        "-1",
        "12X",
        "1000",
        "2048G",
        "99999999999999999999",
    ] {
        assert!(parse_size(bad).is_err(), "{bad}");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let text = "[fetch]\nmax_message_size = \"1G\"\n[accounts.a]\nmax_message_size = 4096\n";
    std::fs::write(&path, text).unwrap();
    let store = AccountStore::load(&path).unwrap();
    assert_eq!(store.max_message_size("a").unwrap(), 4096);
    assert_eq!(store.max_message_size("b").unwrap(), 1 << 30);
    std::fs::write(&path, "[accounts.a]\nmax_message_size = -5\n").unwrap();
    let store = AccountStore::load(&path).unwrap();
    assert!(store.max_message_size("a").is_err());
    assert_eq!(
        store.max_message_size("b").unwrap(),
        DEFAULT_MAX_MESSAGE_SIZE
    );
}

fn account(name: &str) -> Account {
    Account {
        name: name.into(),
        user: "alice@example.org".into(),
        domain: None,
        smtp: Endpoint::parse_list(Protocol::Smtp, "smtps://a:465,smtp://b").unwrap(),
        incoming: Incoming::Imap(Endpoint::parse_list(Protocol::Imap, "imaps://a").unwrap()),
        ca_file: Some("/tmp/ca.pem".into()),
        insecure_plaintext: false,
        password_file: None,
        stored_password: None,
        maildir: None,
    }
}

#[test]
fn send_only_and_fetch_only_accounts_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let mut store = AccountStore::load(&path).unwrap();
    let mut send_only = account("reports");
    send_only.incoming = Incoming::None;
    let mut fetch_only = account("reader");
    fetch_only.smtp = Vec::new();
    for a in [&send_only, &fetch_only] {
        a.validate().unwrap();
        store.add(a, false).unwrap();
    }
    store.save().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("srv"), "nothing is discovered: {text}");
    let store = AccountStore::load(&path).unwrap();
    let (got_send, got_fetch) = (store.get("reports").unwrap(), store.get("reader").unwrap());
    assert!(got_send.sends() && !got_send.fetches());
    assert!(!got_fetch.sends() && got_fetch.fetches());
    assert_eq!((got_send, got_fetch), (send_only, fetch_only));
    // Neither side at all is no account.
    let mut neither = account("neither");
    neither.smtp = Vec::new();
    neither.incoming = Incoming::None;
    assert!(neither.validate().is_err());
}

#[test]
fn store_round_trips_and_keeps_other_sections() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let original = "# my comment\n[groups.x]\nkey = 1 # keep me\n";
    std::fs::write(&path, original).unwrap();
    let mut store = AccountStore::load(&path).unwrap();
    store.add(&account("work"), false).unwrap();
    let mut home = account("home");
    home.incoming = Incoming::Pop3(Endpoint::parse_list(Protocol::Pop3, "pop3s://p:995").unwrap());
    home.stored_password = Some("s3cret".into());
    store.add(&home, false).unwrap();
    assert!(store.add(&home, false).is_err());
    store.save().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with(original), "{text}");
    let store = AccountStore::load(&path).unwrap();
    let list = store.list().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0], home);
    assert_eq!(list[1], account("work"));
    assert!(!format!("{:?}", list[0]).contains("s3cret"));
    let mut store = AccountStore::load(&path).unwrap();
    store.remove("work").unwrap();
    assert!(store.remove("work").is_err());
    store.save().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("keep me") && !text.contains("[accounts.work]"),
        "{text}"
    );
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode_bits(),
        0o600
    );
}

#[test]
fn a_new_keystores_header_stays_on_top() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let header = "# sealpost keystore settings.\n# edit with care.\n";
    std::fs::write(&path, header).unwrap();
    for name in ["work", "home"] {
        let mut store = AccountStore::load(&path).unwrap();
        store.add(&account(name), false).unwrap();
        store.save().unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with(header), "{text}");
    assert!(
        text.ends_with("\n") && !text.trim_end().ends_with("care."),
        "{text}"
    );
    assert_eq!(AccountStore::load(&path).unwrap().list().unwrap().len(), 2);
    // A comment a user put last, after accounts, stays last.
    std::fs::write(&path, format!("{text}# the end\n")).unwrap();
    let mut store = AccountStore::load(&path).unwrap();
    store.add(&account("third"), false).unwrap();
    store.save().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with(header), "{text}");
}

trait ModeBits {
    fn mode_bits(&self) -> u32;
}
impl ModeBits for std::fs::Permissions {
    fn mode_bits(&self) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        self.mode() & 0o777
    }
}

#[test]
fn plaintext_needs_the_flag_and_names_are_checked() {
    let mut a = account("x");
    a.smtp = Endpoint::parse_list(Protocol::Smtp, "smtp+plain://h").unwrap();
    assert_eq!(
        crate::error::classify(&a.validate().unwrap_err()).0,
        Exit::Usage
    );
    a.insecure_plaintext = true;
    a.validate().unwrap();
    for bad in ["", ".x", "a b", "a/b", &"x".repeat(65)] {
        assert!(check_name(bad).is_err(), "{bad}");
    }
    assert_eq!(password_env_var("my-work.1"), "SEALPOST_PASSWORD_MY_WORK_1");
    assert!(check_domain("example.org").is_ok());
    for bad in ["", "a..b", "-a.org", "a b.org", "x/y"] {
        assert!(check_domain(bad).is_err(), "{bad}");
    }
}

#[test]
fn srv_settings_round_trip_and_need_a_domain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let mut a = account("dns");
    a.smtp = parse_servers(Protocol::Smtp, "SRV").unwrap();
    a.incoming = Incoming::Pop3(parse_servers(Protocol::Pop3, " srv ").unwrap());
    let mut store = AccountStore::load(&path).unwrap();
    assert_eq!(
        crate::error::classify(&store.add(&a, false).unwrap_err()).0,
        Exit::Usage,
        "srv without a domain"
    );
    a.domain = Some("bad domain".into());
    assert!(store.add(&a, false).is_err());
    a.domain = Some("example.org".into());
    store.add(&a, false).unwrap();
    store.save().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("smtp = \"srv\"") && text.contains("pop3 = \"srv\""),
        "{text}"
    );
    assert_eq!(AccountStore::load(&path).unwrap().get("dns").unwrap(), a);
    // Written by hand: settings left out mean srv, IMAP for incoming mail.
    std::fs::write(
        &path,
        "[accounts.short]\nuser = \"u\"\ndomain = \"example.org\"\n\
         [accounts.mixed]\nuser = \"u\"\ndomain = \"example.org\"\nsmtp = \"smtps://a\"\n\
         [accounts.nodomain]\nuser = \"u\"\nsmtp = \"srv\"\nimap = \"imaps://a\"\n",
    )
    .unwrap();
    let store = AccountStore::load(&path).unwrap();
    let short = store.get("short").unwrap();
    assert!(short.smtp.is_empty());
    assert_eq!(short.incoming, Incoming::Imap(Vec::new()));
    assert_eq!(store.get("mixed").unwrap().smtp.len(), 1);
    assert_eq!(
        crate::error::classify(&store.get("nodomain").unwrap_err()).0,
        Exit::Config
    );
    assert!(parse_servers(Protocol::Smtp, "srv,smtps://a").is_err());
}

#[test]
fn damaged_config_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, "[accounts.a]\nuser = 1\n").unwrap();
    let store = AccountStore::load(&path).unwrap();
    assert_eq!(
        crate::error::classify(&store.list().unwrap_err()).0,
        Exit::Config
    );
    let store = AccountStore::load(&path).unwrap();
    assert_eq!(store.keep_sent().unwrap(), Some(DEFAULT_KEEP_SENT));
    for (text, want) in [
        ("\"12h\"", Some(Some(43200))),
        ("\"forever\"", Some(None)),
        ("3", None),
        ("\"soon\"", None),
    ] {
        std::fs::write(&path, format!("[outbox]\nkeep_sent = {text}\n")).unwrap();
        let got = AccountStore::load(&path).unwrap().keep_sent();
        match want {
            Some(w) => assert_eq!(got.unwrap(), w, "{text}"),
            None => assert_eq!(crate::error::classify(&got.unwrap_err()).0, Exit::Config),
        }
    }
    std::fs::write(&path, "[[[").unwrap();
    assert_eq!(
        crate::error::classify(&AccountStore::load(&path).err().unwrap()).0,
        Exit::Config
    );
}
