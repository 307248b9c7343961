//! The server's health for `GET /health` (issue 16): the store answers,
//! every group key opens (and the vault, once one exists), and the caller's
//! own checks (the store's free disk space) pass.
//!
//! The answer names the checks and nothing else: never a group, a count of
//! groups, or an error's text. Whoever can reach the port may ask, and a
//! caller who is not a member must not learn the group list (issue 11);
//! error texts carry group names and paths. The causes go to the operator's
//! log ([`Health::causes`]).

use super::Service;

/// What a check found: `Ok`, or the cause, for the operator's log only.
pub type Check = Result<(), String>;

/// The named checks, in a fixed order.
#[derive(Debug)]
pub struct Health {
    pub checks: Vec<(&'static str, Check)>,
}

impl Health {
    pub fn healthy(&self) -> bool {
        self.checks.iter().all(|(_, check)| check.is_ok())
    }

    /// 200 when healthy, 503 otherwise.
    pub fn status(&self) -> u16 {
        if self.healthy() {
            200
        } else {
            503
        }
    }

    /// `{"status":"ok"|"failing","failing":[NAMES],"checks":{NAME:"ok"|"failing"}}`.
    pub fn to_json(&self) -> Vec<u8> {
        let word = |check: &Check| if check.is_ok() { "ok" } else { "failing" };
        let checks: serde_json::Map<String, serde_json::Value> = self
            .checks
            .iter()
            .map(|(name, check)| (name.to_string(), word(check).into()))
            .collect();
        let failing: Vec<&str> = self
            .checks
            .iter()
            .filter(|(_, check)| check.is_err())
            .map(|(name, _)| *name)
            .collect();
        serde_json::json!({
            "status": if self.healthy() { "ok" } else { "failing" },
            "failing": failing,
            "checks": checks,
        })
        .to_string()
        .into_bytes()
    }

    /// One line per failing check, with its cause: for the operator's log.
    pub fn causes(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter_map(|(name, check)| {
                let cause = check.as_ref().err()?;
                Some(format!("health: {name} failing: {}", cause.escape_debug()))
            })
            .collect()
    }
}

impl Service {
    /// Checks the store and the keys now, then adds `extra` (the caller's
    /// checks, e.g. `("disk", …)`).
    pub fn health(&self, extra: Vec<(&'static str, Check)>) -> Health {
        let groups = self.store.groups().map_err(|e| format!("{e:#}"));
        let keys = match &groups {
            Err(_) => Err("the store did not answer".to_string()),
            Ok(groups) => self.keys_usable(groups.iter().map(|g| g.name.as_str())),
        };
        let mut checks = vec![("store", groups.map(|_| ())), ("keys", keys)];
        checks.extend(extra);
        Health { checks }
    }

    /// Every group's key opens (it is kept open, as a first request
    /// would), and the vault when the store has one.
    fn keys_usable<'a>(&self, groups: impl Iterator<Item = &'a str>) -> Check {
        let now = crate::smime::certs::now().max(0) as u64;
        for name in groups {
            match self.group_key(name, now) {
                Ok(Some(_)) => {}
                Ok(None) => return Err(format!("group {name} vanished during the check")),
                Err(refused) => return Err(refused.into_cause()),
            }
        }
        let has_vault = self.store.vault().map_err(|e| format!("{e:#}"))?.is_some();
        if has_vault {
            self.vault().map_err(|refused| refused.into_cause())?;
        }
        Ok(())
    }
}
