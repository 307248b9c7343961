//! The group server: holds each mailing list's group private key and
//! releases content keys to current members (see `crate::release::protocol`).
