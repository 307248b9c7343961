//! `sealpost group …`: mailing-list group keys. The server side (create,
//! members, audit, serve) and the member side (join) share the command;
//! each subcommand has its own file.

use clap::{Args, Subcommand};

use super::Context;

mod admin;
mod join;
mod keys;
mod migrate;
mod offline;
mod pass;
mod secret;
mod serve;

/// Group keys for encrypted mailing lists, and the key release server
///
/// A list has a group key pair; senders encrypt to the group certificate.
/// The group server holds the private key and releases a message's content
/// key, re-wrapped to the member's own key, to current members only.
#[derive(Debug, Args)]
pub struct GroupArgs {
    #[command(subcommand)]
    pub command: GroupCommand,
}

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    Create(admin::CreateArgs),
    Cert(admin::CertArgs),
    Show(keys::ShowArgs),
    RotateKey(keys::RotateKeyArgs),
    AddMember(admin::AddMemberArgs),
    RemoveMember(admin::RemoveMemberArgs),
    Members(admin::MembersArgs),
    Audit(admin::AuditArgs),
    RotateSecret(admin::RotateSecretArgs),
    Migrate(migrate::MigrateArgs),
    Serve(serve::ServeArgs),
    Join(join::JoinArgs),
    Key(offline::KeyArgs),
    Secret(secret::SecretArgs),
    Pass(pass::PassArgs),
    Set(pass::SetArgs),
}

pub fn run(args: GroupArgs, ctx: &Context) -> anyhow::Result<()> {
    match args.command {
        GroupCommand::Create(a) => admin::create(a, ctx),
        GroupCommand::Cert(a) => admin::cert(a, ctx),
        GroupCommand::Show(a) => keys::show(a, ctx),
        GroupCommand::RotateKey(a) => keys::rotate_key(a, ctx),
        GroupCommand::AddMember(a) => admin::add_member(a, ctx),
        GroupCommand::RemoveMember(a) => admin::remove_member(a, ctx),
        GroupCommand::Members(a) => admin::members(a, ctx),
        GroupCommand::Audit(a) => admin::audit(a, ctx),
        GroupCommand::RotateSecret(a) => admin::rotate_secret(a, ctx),
        GroupCommand::Migrate(a) => migrate::run(a, ctx),
        GroupCommand::Serve(a) => serve::run(a, ctx),
        GroupCommand::Join(a) => join::run(a, ctx),
        GroupCommand::Key(a) => offline::run(a, ctx),
        GroupCommand::Secret(a) => secret::run(a, ctx),
        GroupCommand::Pass(a) => pass::run(a, ctx),
        GroupCommand::Set(a) => pass::set(a, ctx),
    }
}
