//! `contrib/sealpost-group.service` (issue 16): every key is one systemd
//! knows (a typo is only a warning to systemd, so it is an error here), the
//! hardening the README promises is there, the ExecStart is a
//! `group serve` whose flags and values the binary accepts and whose
//! credentials the unit loads, and `systemd-analyze verify` finds nothing
//! (where systemd-analyze exists; the test says so when it skips).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

const UNIT: &str = "contrib/sealpost-group.service";

/// The keys the unit may use, by section.
const KNOWN: &[(&str, &[&str])] = &[
    (
        "Unit",
        &["Description", "Documentation", "After", "Wants", "Requires"],
    ),
    (
        "Service",
        &[
            "Type",
            "ExecStart",
            "LoadCredential",
            "KillSignal",
            "TimeoutStopSec",
            "Restart",
            "RestartSec",
            "DynamicUser",
            "StateDirectory",
            "StateDirectoryMode",
            "UMask",
            "ProtectSystem",
            "ProtectHome",
            "PrivateTmp",
            "PrivateDevices",
            "NoNewPrivileges",
            "CapabilityBoundingSet",
            "AmbientCapabilities",
            "ProtectKernelTunables",
            "ProtectKernelModules",
            "ProtectKernelLogs",
            "ProtectControlGroups",
            "ProtectClock",
            "ProtectHostname",
            "ProtectProc",
            "ProcSubset",
            "RestrictAddressFamilies",
            "RestrictNamespaces",
            "RestrictRealtime",
            "RestrictSUIDSGID",
            "LockPersonality",
            "MemoryDenyWriteExecute",
            "RemoveIPC",
            "SystemCallArchitectures",
            "SystemCallFilter",
            "SystemCallErrorNumber",
            "TasksMax",
            "LimitNOFILE",
        ],
    ),
    ("Install", &["WantedBy"]),
];

/// Each section's `key=value` lines, in order.
type Unit = BTreeMap<String, Vec<(String, String)>>;

fn parse(text: &str) -> Unit {
    let mut unit = Unit::new();
    let mut section = None;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        assert!(
            !line.ends_with('\\'),
            "line {}: continued lines are not expected",
            n + 1
        );
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = Some(name.to_string());
            unit.entry(name.to_string()).or_default();
            continue;
        }
        let section = section
            .as_ref()
            .unwrap_or_else(|| panic!("line {}: before any section", n + 1));
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("line {}: not key=value: {line}", n + 1));
        unit.get_mut(section)
            .unwrap()
            .push((key.trim().to_string(), value.trim().to_string()));
    }
    unit
}

fn values<'a>(unit: &'a Unit, section: &str, key: &str) -> Vec<&'a str> {
    unit[section]
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

fn unit() -> Unit {
    parse(&std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(UNIT)).unwrap())
}

#[test]
fn unit_uses_known_keys_and_the_promised_hardening() {
    let unit = unit();
    for (section, entries) in &unit {
        let known = KNOWN
            .iter()
            .find(|(s, _)| s == section)
            .unwrap_or_else(|| panic!("unknown section [{section}]"))
            .1;
        for (key, _) in entries {
            assert!(
                known.contains(&key.as_str()),
                "unknown key {key} in [{section}]"
            );
        }
    }
    for (key, want) in [
        ("DynamicUser", "yes"),
        ("StateDirectory", "sealpost-group"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("NoNewPrivileges", "yes"),
        ("CapabilityBoundingSet", ""),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("MemoryDenyWriteExecute", "yes"),
    ] {
        assert_eq!(values(&unit, "Service", key), [want], "{key}");
    }
    assert!(values(&unit, "Service", "SystemCallFilter").contains(&"@system-service"));
    assert_eq!(values(&unit, "Service", "ExecStart").len(), 1);
}

/// The credential names LoadCredential= gives the service.
fn credentials(unit: &Unit) -> Vec<&str> {
    values(unit, "Service", "LoadCredential")
        .iter()
        .map(|v| v.split_once(':').expect("LoadCredential=NAME:PATH").0)
        .collect()
}

#[test]
fn exec_start_is_a_group_serve_the_binary_accepts() {
    let unit = unit();
    let exec = values(&unit, "Service", "ExecStart")[0];
    let words: Vec<&str> = exec.split_whitespace().collect();
    assert_eq!(words[0], "/usr/bin/sealpost");
    assert!(exec.contains(" group serve "), "{exec}");
    let creds = credentials(&unit);
    for word in &words {
        if let Some(name) = word.strip_prefix("%d/") {
            assert!(
                creds.contains(&name),
                "ExecStart reads credential {name}, not loaded"
            );
        }
    }
    let after = |flag: &str| words.iter().position(|w| *w == flag).map(|i| words[i + 1]);
    assert_eq!(after("--passphrase-file"), Some("%d/passphrase"), "{exec}");
    for required in ["--listen", "--tls-cert", "--tls-key"] {
        assert!(after(required).is_some(), "no {required} in {exec}");
    }
    assert_eq!(after("--keystore"), Some("%S/sealpost-group"));

    // Specifiers made concrete; `--help` at the end makes clap parse (and
    // check the value of) every flag before it, then stop.
    let dir = tempfile::tempdir().unwrap();
    let concrete: Vec<String> = words[1..]
        .iter()
        .map(|w| {
            w.replace("%S", &dir.path().display().to_string())
                .replace("%d", &dir.path().display().to_string())
        })
        .collect();
    let out = Command::new(env!("CARGO_BIN_EXE_sealpost"))
        .args(&concrete)
        .arg("--help")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{concrete:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Serve key releases"));
}

#[test]
fn systemd_analyze_verify_finds_nothing() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: systemd-analyze is not installed (Debian package systemd)");
        return;
    }
    // verify needs ExecStart to be executable: the binary under test.
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(UNIT))
        .unwrap()
        .replace("/usr/bin/sealpost", env!("CARGO_BIN_EXE_sealpost"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sealpost-group.service");
    std::fs::write(&path, text).unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // Unknown keys and bad values are warnings with a zero exit.
    assert!(!stderr.contains("sealpost-group.service"), "{stderr}");
}
