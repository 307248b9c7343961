//! Key and certificate import: PEM blocks, PKCS#8 (plain and encrypted),
//! PKCS#1, PKCS#12, X.509 certificates and bundles (PEM, DER, PKCS#7).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealpost::smime::{certs, privkey};

/// The password every seed that needs one was made with (gen_seeds).
const PASSWORD: &str = "fuzz";

fuzz_target!(|data: &[u8]| {
    let _ = privkey::import_key(data, Some(PASSWORD), "fuzz input");
    let _ = privkey::import_pkcs12(data, PASSWORD, "fuzz input");
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = privkey::is_encrypted(text);
        let _ = privkey::open(text, Some(PASSWORD), "fuzz input");
        let _ = certs::pem_blocks(text);
    }
    if let Ok(bundle) = certs::parse_bundle(data) {
        for c in bundle {
            let _ = c.summary();
            let _ = c.to_pem();
            let _ = c.encryption_problems("alice@example.org", certs::now());
            let _ = certs::rsa_public_key(&c.cert);
        }
    }
    let _ = certs::CertInfo::from_der(data);
});
