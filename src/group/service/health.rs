//! The server's health for `GET /health` (issue 16): the store answers,
//! every group key opens and, when it is in a PKCS#11 token, the token
//! still answers and still holds it (one C_FindObjects per key and check),
//! the vault opens once one exists, and the caller's own checks (the
//! store's free disk space) pass.
//!
//! The answer names the checks and nothing else: never a group, a count of
//! groups, or an error's text. Whoever can reach the port may ask, and a
//! caller who is not a member must not learn the group list (issue 11);
//! error texts carry group names and paths. The causes go to the operator's
//! log ([`Health::causes`]).

use std::sync::Arc;

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
    /// would) and answers (a key in a token is looked up in the token
    /// again: [`GroupKeys::probe`](super::generations::GroupKeys::probe)),
    /// and the vault when the store has one. A group whose token key
    /// failed the probe is dropped from the open keys, so that the next
    /// check or request opens it afresh: once the token is back, with the
    /// key, health recovers without a restart.
    fn keys_usable<'a>(&self, groups: impl Iterator<Item = &'a str>) -> Check {
        let now = crate::smime::certs::now().max(0) as u64;
        for name in groups {
            let keys = match self.group_key(name, now) {
                Ok(Some(keys)) => keys,
                Ok(None) => return Err(format!("group {name} vanished during the check")),
                Err(refused) => return Err(refused.into_cause()),
            };
            if let Err(cause) = keys.probe() {
                let mut open = self.keys.write().unwrap_or_else(|p| p.into_inner());
                // Not a newer load another thread made meanwhile.
                if open.get(name).is_some_and(|k| Arc::ptr_eq(k, &keys)) {
                    open.remove(name);
                }
                return Err(format!("group {name}: {cause}"));
            }
        }
        let has_vault = self.store.vault().map_err(|e| format!("{e:#}"))?.is_some();
        if has_vault {
            self.vault().map_err(|refused| refused.into_cause())?;
        }
        Ok(())
    }
}
