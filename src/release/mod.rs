//! Group key release, the member's side: the protocol shared with the group
//! server ([`protocol`]) and the HTTPS client that performs a release.

pub mod protocol;
