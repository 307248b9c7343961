//! Object identifiers used by the envelope code, spelled out so that each can
//! be checked against its RFC at a glance.

use der::asn1::ObjectIdentifier as Oid;

/// id-data (RFC 5652 §4).
pub const ID_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.1");
/// id-envelopedData (RFC 5652 §6.1).
pub const ID_ENVELOPED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.3");
/// id-ct-authEnvelopedData (RFC 5083 §1).
pub const ID_AUTH_ENVELOPED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.1.23");

/// rsaEncryption, i.e. RSAES-PKCS1-v1_5 key transport (RFC 3370 §4.2.1).
pub const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
/// id-RSAES-OAEP (RFC 3560, RFC 4055 §4).
pub const RSAES_OAEP: Oid = Oid::new_unwrap("1.2.840.113549.1.1.7");
/// id-mgf1 (RFC 4055 §2.2).
pub const MGF1: Oid = Oid::new_unwrap("1.2.840.113549.1.1.8");
/// id-pSpecified (RFC 4055 §4.1).
pub const P_SPECIFIED: Oid = Oid::new_unwrap("1.2.840.113549.1.1.9");

pub const SHA1: Oid = Oid::new_unwrap("1.3.14.3.2.26");
pub const SHA224: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.4");
pub const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
pub const SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
pub const SHA512: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.3");

/// Content-encryption algorithms (RFC 3565, RFC 5084, RFC 3370 §5.1, RFC 8103).
pub const AES128_CBC: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.1.2");
pub const AES192_CBC: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.1.22");
pub const AES256_CBC: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.1.42");
pub const AES128_GCM: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.1.6");
pub const AES192_GCM: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.1.26");
pub const AES256_GCM: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.1.46");
pub const DES_EDE3_CBC: Oid = Oid::new_unwrap("1.2.840.113549.3.7");
/// id-alg-AEADChaCha20Poly1305 (RFC 8103 §2).
pub const CHACHA20_POLY1305: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.3.18");

/// A short readable name for an OID: the const-oid database name, else the
/// dotted form.
pub fn name(oid: &Oid) -> String {
    const_oid::db::DB
        .by_oid(oid)
        .map(str::to_owned)
        .unwrap_or_else(|| oid.to_string())
}
