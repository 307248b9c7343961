//! [`Store`] on PostgreSQL: the row mappings and one method per call, on
//! the connections and transactions of the parent module.

use postgres::Row;

use super::PostgresStore;
use crate::error::{fail, Exit};
use crate::group::release::protocol::NONCE_LEN;
use crate::group::store::{
    parse_nonce, AuditRecord, DepositRecord, DepositState, GroupRecord, KeyRotation, MemberRecord,
    MemberSelector, PassIssuerRecord, RetiredKeyRecord, Role, SecretRecord, Store,
};

fn group_row(r: &Row) -> Result<GroupRecord, postgres::Error> {
    Ok(GroupRecord {
        name: r.try_get(0)?,
        email: r.try_get(1)?,
        certificate: r.try_get(2)?,
        sealed_key: r.try_get(3)?,
        created: r.try_get(4)?,
    })
}

/// A member row; an unknown role is skipped by the caller (it grants nothing).
fn member_row(r: &Row) -> Result<Option<MemberRecord>, postgres::Error> {
    let role: String = r.try_get(4)?;
    let Some(role) = Role::parse(&role) else {
        return Ok(None);
    };
    Ok(Some(MemberRecord {
        fingerprint: r.try_get(0)?,
        address: r.try_get(1)?,
        certificate: r.try_get(2)?,
        added: r.try_get(3)?,
        role,
    }))
}

fn deposit_row(r: &Row) -> Result<DepositRecord, postgres::Error> {
    let state: String = r.try_get(7)?;
    Ok(DepositRecord {
        id: r.try_get(0)?,
        group: r.try_get(1)?,
        depositor: r.try_get(2)?,
        readers: r.try_get(3)?,
        created: r.try_get(4)?,
        expires: r.try_get(5)?,
        sealed_kek: r.try_get(6)?,
        state: DepositState::parse(&state),
        ended: r.try_get(8)?,
    })
}

fn audit_row(r: &Row) -> Result<AuditRecord, postgres::Error> {
    Ok(AuditRecord {
        id: r.try_get(0)?,
        time: r.try_get(1)?,
        group: r.try_get(2)?,
        member_fingerprint: r.try_get(3)?,
        member_address: r.try_get(4)?,
        key_hash: r.try_get(5)?,
        outcome: r.try_get(6)?,
        remote: r.try_get(7)?,
        nonce: parse_nonce(r.try_get(8)?),
        nonce_used: r.try_get(9)?,
        op: r.try_get(10)?,
    })
}

fn members_of(rows: Vec<Row>) -> Result<Vec<MemberRecord>, postgres::Error> {
    let mut members = Vec::with_capacity(rows.len());
    for r in &rows {
        members.extend(member_row(r)?);
    }
    Ok(members)
}

impl Store for PostgresStore {
    fn create_group(&self, g: &GroupRecord) -> anyhow::Result<()> {
        let inserted = self.with(|c| {
            c.execute(
                "INSERT INTO groups (name, email, certificate, sealed_key, created) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                &[&g.name, &g.email, &g.certificate, &g.sealed_key, &g.created],
            )
        })?;
        if inserted == 0 {
            return Err(fail(
                Exit::CantCreate,
                format!("group {} already exists", g.name),
            ));
        }
        Ok(())
    }

    fn group(&self, name: &str) -> anyhow::Result<Option<GroupRecord>> {
        self.with(|c| {
            c.query_opt(
                "SELECT name, email, certificate, sealed_key, created FROM groups WHERE name = $1",
                &[&name],
            )?
            .as_ref()
            .map(group_row)
            .transpose()
        })
    }

    fn groups(&self) -> anyhow::Result<Vec<GroupRecord>> {
        self.with(|c| {
            c.query(
                "SELECT name, email, certificate, sealed_key, created FROM groups ORDER BY name",
                &[],
            )?
            .iter()
            .map(group_row)
            .collect()
        })
    }

    fn add_member(&self, group: &str, m: &MemberRecord) -> anyhow::Result<bool> {
        let n = self.with(|c| {
            c.execute(
                "INSERT INTO members (grp, fingerprint, address, certificate, added, role) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                &[
                    &group,
                    &m.fingerprint,
                    &m.address,
                    &m.certificate,
                    &m.added,
                    &m.role.as_str(),
                ],
            )
        })?;
        Ok(n == 1)
    }

    fn remove_members(
        &self,
        group: &str,
        which: &MemberSelector,
    ) -> anyhow::Result<Vec<MemberRecord>> {
        self.with(|c| {
            let rows = match which {
                MemberSelector::Address(a) => c.query(
                    "DELETE FROM members WHERE grp = $1 AND address = $2 \
                     RETURNING fingerprint, address, certificate, added, role",
                    &[&group, a],
                )?,
                MemberSelector::Fingerprint(f) => c.query(
                    "DELETE FROM members WHERE grp = $1 AND fingerprint = $2 \
                     RETURNING fingerprint, address, certificate, added, role",
                    &[&group, f],
                )?,
            };
            members_of(rows)
        })
    }

    fn members(&self, group: &str) -> anyhow::Result<Vec<MemberRecord>> {
        self.with(|c| {
            members_of(c.query(
                "SELECT fingerprint, address, certificate, added, role FROM members \
                 WHERE grp = $1 ORDER BY address, added",
                &[&group],
            )?)
        })
    }

    fn member(&self, group: &str, fingerprint: &str) -> anyhow::Result<Option<MemberRecord>> {
        self.with(|c| {
            match c.query_opt(
                "SELECT fingerprint, address, certificate, added, role FROM members \
                 WHERE grp = $1 AND fingerprint = $2",
                &[&group, &fingerprint],
            )? {
                Some(r) => member_row(&r),
                None => Ok(None),
            }
        })
    }

    fn append_audit(&self, rows: &[AuditRecord]) -> anyhow::Result<()> {
        self.with(|c| {
            let insert = c.prepare(
                "INSERT INTO audit (time, grp, member_fingerprint, member_address, key_hash, \
                 outcome, remote, nonce, nonce_used, op) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )?;
            let mut tx = c.client.transaction()?;
            for r in rows {
                let op = if r.op.is_empty() {
                    "release"
                } else {
                    r.op.as_str()
                };
                tx.execute(
                    &insert,
                    &[
                        &r.time,
                        &r.group,
                        &r.member_fingerprint,
                        &r.member_address,
                        &r.key_hash,
                        &r.outcome,
                        &r.remote,
                        &r.nonce.map(hex::encode),
                        &r.nonce_used,
                        &op,
                    ],
                )?;
            }
            tx.commit()
        })
    }

    fn audit(&self, group: &str, since: Option<i64>) -> anyhow::Result<Vec<AuditRecord>> {
        self.with(|c| {
            c.query(
                "SELECT id, time, grp, member_fingerprint, member_address, key_hash, outcome, \
                 remote, nonce, nonce_used, op FROM audit WHERE grp = $1 AND time >= $2 ORDER BY id",
                &[&group, &since.unwrap_or(i64::MIN)],
            )?
            .iter()
            .map(audit_row)
            .collect()
        })
    }

    fn used_nonces(&self, since: i64) -> anyhow::Result<Vec<([u8; NONCE_LEN], i64)>> {
        let rows: Vec<(Option<String>, i64)> = self.with(|c| {
            c.query(
                "SELECT nonce, time FROM audit WHERE nonce_used AND time >= $1",
                &[&since],
            )?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|(n, t)| parse_nonce(n).map(|n| (n, t)))
            .collect())
    }

    fn consume_nonce(&self, nonce: &[u8; NONCE_LEN], until: i64, now: i64) -> anyhow::Result<bool> {
        // Inserted, or taking over an expired row: consumed. A live row of
        // another request (on any replica): a replay.
        //
        // NOTE: committed without waiting for the WAL flush (one round
        // trip, no fsync per request). That is safe: the request's audit
        // row is committed synchronously later, and flushing the WAL up to
        // it flushes this earlier record too; so a nonce can only be lost
        // in a crash together with a request that released nothing. The
        // values are ours (hex digits, integers), so they are written into
        // the statement, which the simple protocol needs for one round trip.
        let sql = format!(
            "BEGIN; SET LOCAL synchronous_commit = off; \
             INSERT INTO nonces (nonce, until) VALUES ('\\x{}'::bytea, {until}) \
             ON CONFLICT (nonce) DO UPDATE SET until = EXCLUDED.until \
             WHERE nonces.until < {now}; COMMIT",
            hex::encode(nonce)
        );
        let inserted = self.with(|c| {
            let messages = c.client.simple_query(&sql)?;
            // The INSERT's count: the third command's completion.
            Ok(messages
                .iter()
                .filter_map(|m| match m {
                    postgres::SimpleQueryMessage::CommandComplete(n) => Some(*n),
                    _ => None,
                })
                .nth(2))
        })?;
        Ok(inserted == Some(1))
    }

    fn release_nonce(&self, nonce: &[u8; NONCE_LEN]) -> anyhow::Result<()> {
        let nonce = &nonce[..];
        self.with(|c| c.execute("DELETE FROM nonces WHERE nonce = $1", &[&nonce]))?;
        Ok(())
    }

    fn prune_nonces(&self, now: i64) -> anyhow::Result<usize> {
        let n = self.with(|c| c.execute("DELETE FROM nonces WHERE until < $1", &[&now]))?;
        Ok(n as usize)
    }

    fn prune_audit(&self, before: i64, group: Option<&str>) -> anyhow::Result<usize> {
        let n = self.with(|c| {
            c.execute(
                "DELETE FROM audit WHERE time < $1 AND ($2::TEXT IS NULL OR grp = $2)",
                &[&before, &group],
            )
        })?;
        Ok(n as usize)
    }

    fn trim_audit(&self, max_rows: u64, keep_since: i64) -> anyhow::Result<usize> {
        let offset = i64::try_from(max_rows).unwrap_or(i64::MAX);
        let n = self.with(|c| {
            c.execute(
                "DELETE FROM audit WHERE time < $2 AND id <= \
                 (SELECT id FROM audit ORDER BY id DESC LIMIT 1 OFFSET $1)",
                &[&offset, &keep_since],
            )
        })?;
        Ok(n as usize)
    }

    fn vault(&self) -> anyhow::Result<Option<(Vec<u8>, Vec<u8>)>> {
        self.with(|c| {
            c.query_opt(
                "SELECT sealed_key, check_value FROM vault WHERE id = 1",
                &[],
            )?
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .transpose()
        })
    }

    fn create_vault(&self, sealed_key: &[u8], check: &[u8]) -> anyhow::Result<()> {
        self.with(|c| {
            c.execute(
                "INSERT INTO vault (id, sealed_key, check_value) VALUES (1, $1, $2) \
                 ON CONFLICT DO NOTHING",
                &[&sealed_key, &check],
            )
        })?;
        Ok(())
    }

    fn add_secret(&self, group: &str, secret: &SecretRecord) -> anyhow::Result<()> {
        self.with(|c| {
            c.execute(
                "INSERT INTO secrets (grp, id, sealed, created) VALUES ($1, $2, $3, $4)",
                &[&group, &secret.id, &secret.sealed, &secret.created],
            )
        })?;
        Ok(())
    }

    fn secrets(&self, group: &str) -> anyhow::Result<Vec<SecretRecord>> {
        self.with(|c| {
            c.query(
                "SELECT id, sealed, created FROM secrets WHERE grp = $1 ORDER BY created, seq",
                &[&group],
            )?
            .iter()
            .map(|r| {
                Ok(SecretRecord {
                    id: r.try_get(0)?,
                    sealed: r.try_get(1)?,
                    created: r.try_get(2)?,
                })
            })
            .collect()
        })
    }

    fn create_deposit(&self, d: &DepositRecord) -> anyhow::Result<()> {
        self.with(|c| {
            c.execute(
                "INSERT INTO deposits (id, grp, depositor, readers, created, expires, \
                 sealed_kek, state, ended) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &[
                    &d.id,
                    &d.group,
                    &d.depositor,
                    &d.readers,
                    &d.created,
                    &d.expires,
                    &d.sealed_kek,
                    &d.state.as_str(),
                    &d.ended,
                ],
            )
        })?;
        Ok(())
    }

    fn deposit(&self, id: &str) -> anyhow::Result<Option<DepositRecord>> {
        self.with(|c| {
            c.query_opt(
                "SELECT id, grp, depositor, readers, created, expires, sealed_kek, state, ended \
                 FROM deposits WHERE id = $1",
                &[&id],
            )?
            .as_ref()
            .map(deposit_row)
            .transpose()
        })
    }

    fn end_deposit(&self, id: &str, state: DepositState, now: i64) -> anyhow::Result<bool> {
        let n = self.with(|c| {
            c.execute(
                "UPDATE deposits SET sealed_kek = NULL, state = $2, ended = $3 \
                 WHERE id = $1 AND state = 'live'",
                &[&id, &state.as_str(), &now],
            )
        })?;
        Ok(n == 1)
    }

    fn expire_deposits(&self, now: i64) -> anyhow::Result<usize> {
        let n = self.with(|c| {
            c.execute(
                "UPDATE deposits SET sealed_kek = NULL, state = 'expired', ended = $1 \
                 WHERE state = 'live' AND expires IS NOT NULL AND expires <= $1",
                &[&now],
            )
        })?;
        Ok(n as usize)
    }

    fn rotate_group_key(&self, group: &str, rotation: &KeyRotation) -> anyhow::Result<i64> {
        let outcome = self.transaction(|tx| {
            // FOR UPDATE: two rotations at once (from any machine) must not
            // both retire the same key; the second waits, then sees the new one.
            let Some(row) = tx.query_opt(
                "SELECT certificate, sealed_key, created FROM groups WHERE name = $1 FOR UPDATE",
                &[&group],
            )?
            else {
                return Ok(None);
            };
            let certificate: Vec<u8> = row.get(0);
            let sealed_key: String = row.get(1);
            let group_created: i64 = row.get(2);
            if certificate != rotation.old_certificate {
                return Ok(Some(Err(())));
            }
            let row = tx.query_one(
                "SELECT COALESCE(MAX(generation), 0) + 1, MAX(retired) FROM retired_keys \
                 WHERE grp = $1",
                &[&group],
            )?;
            let generation: i64 = row.get(0);
            let since: Option<i64> = row.get(1);
            tx.execute(
                "INSERT INTO retired_keys \
                 (grp, generation, certificate, sealed_key, created, retired, expires) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &group,
                    &generation,
                    &certificate,
                    &sealed_key,
                    &since.unwrap_or(group_created),
                    &rotation.time,
                    &rotation.keep_until,
                ],
            )?;
            tx.execute(
                "UPDATE groups SET certificate = $2, sealed_key = $3 WHERE name = $1",
                &[&group, &rotation.certificate, &rotation.sealed_key],
            )?;
            Ok(Some(Ok(generation + 1)))
        })?;
        crate::group::store::rotation_outcome(group, outcome)
    }

    fn retired_keys(&self, group: &str) -> anyhow::Result<Vec<RetiredKeyRecord>> {
        self.with(|c| {
            c.client
                .query(
                    "SELECT generation, certificate, sealed_key, created, retired, expires \
                     FROM retired_keys WHERE grp = $1 ORDER BY generation",
                    &[&group],
                )?
                .iter()
                .map(|r| {
                    Ok(RetiredKeyRecord {
                        generation: r.try_get(0)?,
                        certificate: r.try_get(1)?,
                        sealed_key: r.try_get(2)?,
                        created: r.try_get(3)?,
                        retired: r.try_get(4)?,
                        expires: r.try_get(5)?,
                    })
                })
                .collect()
        })
    }

    fn key_generation(&self, group: &str) -> anyhow::Result<i64> {
        // Read on every request: the primary key's index answers it.
        self.with(|c| {
            c.client
                .query_one(
                    "SELECT COALESCE(MAX(generation), 0) + 1 FROM retired_keys WHERE grp = $1",
                    &[&group],
                )?
                .try_get(0)
        })
    }

    fn pass_issuer(&self, group: &str) -> anyhow::Result<Option<PassIssuerRecord>> {
        self.with(|c| {
            c.client
                .query_opt(
                    "SELECT enabled, lifetime, epoch, sealed_seed FROM pass_issuers WHERE grp = $1",
                    &[&group],
                )?
                .map(|r| {
                    Ok(PassIssuerRecord {
                        enabled: r.try_get(0)?,
                        lifetime: r.try_get(1)?,
                        epoch: r.try_get(2)?,
                        sealed_seed: r.try_get(3)?,
                    })
                })
                .transpose()
        })
    }

    fn set_pass_issuer(&self, group: &str, issuer: &PassIssuerRecord) -> anyhow::Result<()> {
        self.with(|c| {
            c.client.execute(
                "INSERT INTO pass_issuers (grp, enabled, lifetime, epoch, sealed_seed) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (grp) DO UPDATE SET \
                 enabled = EXCLUDED.enabled, lifetime = EXCLUDED.lifetime, \
                 epoch = EXCLUDED.epoch, sealed_seed = EXCLUDED.sealed_seed",
                &[
                    &group,
                    &issuer.enabled,
                    &issuer.lifetime,
                    &issuer.epoch,
                    &issuer.sealed_seed,
                ],
            )?;
            Ok(())
        })
    }

    fn bump_pass_epoch(&self, group: &str) -> anyhow::Result<bool> {
        self.with(|c| {
            let n = c.client.execute(
                "UPDATE pass_issuers SET epoch = epoch + 1 WHERE grp = $1",
                &[&group],
            )?;
            Ok(n > 0)
        })
    }

    fn record_pass_issuance(
        &self,
        group: &str,
        key_id: &str,
        member: &str,
        until: i64,
        now: i64,
    ) -> anyhow::Result<bool> {
        self.with(|c| {
            c.client
                .execute("DELETE FROM pass_issued WHERE until <= $1", &[&now])?;
            let n = c.client.execute(
                "INSERT INTO pass_issued (grp, key_id, member, until) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                &[&group, &key_id, &member, &until],
            )?;
            Ok(n == 1)
        })
    }

    fn forget_pass_issuance(&self, group: &str, key_id: &str, member: &str) -> anyhow::Result<()> {
        self.with(|c| {
            c.client.execute(
                "DELETE FROM pass_issued WHERE grp = $1 AND key_id = $2 AND member = $3",
                &[&group, &key_id, &member],
            )?;
            Ok(())
        })
    }
}
