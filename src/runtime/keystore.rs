//! Client certificates from a PKCS#12 keystore (`javax.net.ssl.keyStore`), as JMeter's
//! `SSLManager` loads them: each private key entry with its alias (`friendlyName`) and its
//! certificate chain.
//!
//! The keystore is read with a small DER reader of our own. Keys and certificates encrypted
//! with PBES2 (PBKDF2 with HMAC-SHA-1/256/384/512, AES-CBC) are read; that is what Java's
//! `keytool` (JDK 12 and later) and OpenSSL 3 write. The legacy PKCS#12 ciphers (3DES, RC2)
//! are refused with a message that says how to convert the file.

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A private key entry of the keystore.
pub struct KeyEntry {
    pub alias: String,
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

impl std::fmt::Debug for KeyEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyEntry")
            .field("alias", &self.alias)
            .field("chain", &self.chain.len())
            .finish()
    }
}

const DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
const ENCRYPTED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x06];
const KEY_BAG: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x01,
];
const SHROUDED_KEY_BAG: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x02,
];
const CERT_BAG: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x03,
];
const X509_CERT: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x16, 0x01];
const FRIENDLY_NAME: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x14];
const LOCAL_KEY_ID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x15];
const PBES2: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d];
const PBKDF2: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0c];
const HMAC_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x07];
const HMAC_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x09];
const HMAC_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x0a];
const HMAC_SHA512: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x0b];
const AES_CBC_PREFIX: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01];

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const BMP_STRING: u8 = 0x1e;
const CONTEXT_0: u8 = 0xa0;
const CONTEXT_0_PRIMITIVE: u8 = 0x80;

/// A DER reader over one level of elements.
struct Der<'a> {
    data: &'a [u8],
}

impl<'a> Der<'a> {
    fn new(data: &'a [u8]) -> Der<'a> {
        Der { data }
    }

    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The next element: its tag, its contents and the whole element.
    fn next(&mut self) -> Result<(u8, &'a [u8], &'a [u8]), String> {
        let bad = || "the keystore is not a valid PKCS#12 (DER) file".to_string();
        let tag = *self.data.first().ok_or_else(bad)?;
        let first = *self.data.get(1).ok_or_else(bad)?;
        let (len, head) = if first < 0x80 {
            (first as usize, 2)
        } else {
            let n = (first & 0x7f) as usize;
            if n == 0 || n > 4 {
                return Err(bad());
            }
            let bytes = self.data.get(2..2 + n).ok_or_else(bad)?;
            (
                bytes.iter().fold(0usize, |acc, &b| (acc << 8) | b as usize),
                2 + n,
            )
        };
        let end = head.checked_add(len).ok_or_else(bad)?;
        let whole = self.data.get(..end).ok_or_else(bad)?;
        self.data = &self.data[end..];
        Ok((tag, &whole[head..], whole))
    }

    fn expect(&mut self, tag: u8) -> Result<&'a [u8], String> {
        match self.next()? {
            (t, content, _) if t == tag => Ok(content),
            (t, ..) => Err(format!(
                "the keystore is not a PKCS#12 file this reader knows (tag {t:#04x} where {tag:#04x} was expected)"
            )),
        }
    }
}

/// The run's client keystore: its entries ready for TLS, in the keystore's order.
#[derive(Debug, Default)]
pub struct ClientKeys {
    pub keys: Vec<(String, Arc<rustls::sign::CertifiedKey>)>,
}

impl ClientKeys {
    /// Loads the keystore JMeter's `javax.net.ssl.keyStore` system properties name (PKCS#12;
    /// the password in `javax.net.ssl.keyStorePassword`). `None` when none is named.
    pub fn from_system_properties(
        system: &crate::properties::Properties,
    ) -> Result<Option<ClientKeys>, String> {
        let Some(path) = system
            .get("javax.net.ssl.keyStore")
            .filter(|p| !p.trim().is_empty())
        else {
            return Ok(None);
        };
        let kind = system
            .get("javax.net.ssl.keyStoreType")
            .unwrap_or_else(|| "pkcs12".into());
        if !kind.trim().eq_ignore_ascii_case("pkcs12") {
            return Err(format!(
                "javax.net.ssl.keyStoreType={kind} is not supported: rmeter reads PKCS12 keystores (convert with `keytool -importkeystore -deststoretype PKCS12`)"
            ));
        }
        let bytes = std::fs::read(path.trim()).map_err(|e| format!("keystore {path}: {e}"))?;
        let password = system
            .get("javax.net.ssl.keyStorePassword")
            .unwrap_or_default();
        let provider = rustls::crypto::ring::default_provider();
        let mut keys = Vec::new();
        for entry in load_pkcs12(&bytes, &password).map_err(|e| format!("keystore {path}: {e}"))? {
            let signing = provider
                .key_provider
                .load_private_key(entry.key)
                .map_err(|e| format!("keystore {path}: key {}: {e}", entry.alias))?;
            let certified = rustls::sign::CertifiedKey::new(entry.chain, signing);
            keys.push((entry.alias, Arc::new(certified)));
        }
        if keys.is_empty() {
            return Err(format!("keystore {path} has no private key entry"));
        }
        Ok(Some(ClientKeys { keys }))
    }

    /// The key of an alias.
    pub fn by_alias(&self, alias: &str) -> Option<Arc<rustls::sign::CertifiedKey>> {
        self.keys
            .iter()
            .find(|(a, _)| a == alias)
            .map(|(_, k)| k.clone())
    }
}

/// A client certificate offered whatever the server asks for, as JMeter's key manager does.
#[derive(Debug)]
pub struct FixedClientCert(pub Arc<rustls::sign::CertifiedKey>);

impl rustls::client::ResolvesClientCert for FixedClientCert {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// Reads every private key entry of a PKCS#12 keystore, in the file's order.
pub fn load_pkcs12(bytes: &[u8], password: &str) -> Result<Vec<KeyEntry>, String> {
    let mut pfx = Der::new(Der::new(bytes).expect(SEQUENCE)?);
    pfx.expect(INTEGER)?;
    let auth_safe = content_info_data(pfx.expect(SEQUENCE)?)?;
    let mut keys: Vec<Bag> = Vec::new();
    let mut certs: Vec<(Option<Vec<u8>>, Vec<u8>)> = Vec::new();
    let mut safes = Der::new(Der::new(auth_safe).expect(SEQUENCE)?);
    while !safes.is_empty() {
        let mut info = Der::new(safes.expect(SEQUENCE)?);
        let kind = info.expect(OID)?;
        let explicit = info.expect(CONTEXT_0)?;
        let contents = if kind == DATA {
            Der::new(explicit).expect(OCTET_STRING)?.to_vec()
        } else if kind == ENCRYPTED_DATA {
            let mut encrypted = Der::new(Der::new(explicit).expect(SEQUENCE)?);
            encrypted.expect(INTEGER)?;
            let mut content = Der::new(encrypted.expect(SEQUENCE)?);
            content.expect(OID)?;
            let algorithm = content.expect(SEQUENCE)?;
            let data = content.expect(CONTEXT_0_PRIMITIVE)?;
            decrypt(algorithm, data, password)?
        } else {
            continue;
        };
        read_bags(&contents, password, &mut keys, &mut certs)?;
    }
    let unpaired: Vec<CertificateDer<'static>> = certs
        .iter()
        .filter(|(id, _)| id.is_none())
        .map(|(_, der)| CertificateDer::from(der.clone()))
        .collect();
    let mut entries = Vec::new();
    for (i, (id, alias, key)) in keys.into_iter().enumerate() {
        let leaf = certs
            .iter()
            .find(|(cert_id, _)| cert_id.is_some() && *cert_id == id)
            .map(|(_, der)| CertificateDer::from(der.clone()));
        let Some(leaf) = leaf else {
            return Err(format!(
                "the keystore's key entry {} has no certificate",
                alias.unwrap_or_else(|| i.to_string())
            ));
        };
        let mut chain = vec![leaf];
        chain.extend(unpaired.iter().cloned());
        entries.push(KeyEntry {
            alias: alias.unwrap_or_else(|| i.to_string()),
            chain,
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
        });
    }
    Ok(entries)
}

/// The contents of a `ContentInfo` of type data.
fn content_info_data(info: &[u8]) -> Result<&[u8], String> {
    let mut info = Der::new(info);
    if info.expect(OID)? != DATA {
        return Err("the keystore is signed with a public key, which is not supported".into());
    }
    Der::new(info.expect(CONTEXT_0)?).expect(OCTET_STRING)
}

/// A key bag: its `localKeyId`, its alias and the PKCS#8 key.
type Bag = (Option<Vec<u8>>, Option<String>, Vec<u8>);

fn read_bags(
    contents: &[u8],
    password: &str,
    keys: &mut Vec<Bag>,
    certs: &mut Vec<(Option<Vec<u8>>, Vec<u8>)>,
) -> Result<(), String> {
    let mut bags = Der::new(Der::new(contents).expect(SEQUENCE)?);
    while !bags.is_empty() {
        let mut bag = Der::new(bags.expect(SEQUENCE)?);
        let kind = bag.expect(OID)?;
        let value = bag.expect(CONTEXT_0)?;
        let (mut alias, mut id) = (None, None);
        if !bag.is_empty() {
            let mut attributes = Der::new(bag.expect(SET)?);
            while !attributes.is_empty() {
                let mut attribute = Der::new(attributes.expect(SEQUENCE)?);
                let attribute_id = attribute.expect(OID)?;
                let mut values = Der::new(attribute.expect(SET)?);
                if attribute_id == FRIENDLY_NAME {
                    let utf16: Vec<u16> = values
                        .expect(BMP_STRING)?
                        .chunks(2)
                        .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                        .collect();
                    alias = Some(String::from_utf16_lossy(&utf16));
                } else if attribute_id == LOCAL_KEY_ID {
                    id = Some(values.expect(OCTET_STRING)?.to_vec());
                }
            }
        }
        if kind == SHROUDED_KEY_BAG {
            let mut encrypted = Der::new(Der::new(value).expect(SEQUENCE)?);
            let algorithm = encrypted.expect(SEQUENCE)?;
            let data = encrypted.expect(OCTET_STRING)?;
            keys.push((id, alias, decrypt(algorithm, data, password)?));
        } else if kind == KEY_BAG {
            let (_, _, whole) = Der::new(value).next()?;
            keys.push((id, alias, whole.to_vec()));
        } else if kind == CERT_BAG {
            let mut cert = Der::new(Der::new(value).expect(SEQUENCE)?);
            if cert.expect(OID)? == X509_CERT {
                let der = Der::new(cert.expect(CONTEXT_0)?).expect(OCTET_STRING)?;
                certs.push((id, der.to_vec()));
            }
        }
    }
    Ok(())
}

/// Decrypts PBES2 (PBKDF2, AES-CBC) data.
fn decrypt(algorithm: &[u8], data: &[u8], password: &str) -> Result<Vec<u8>, String> {
    use cbc::cipher::block_padding::Pkcs7;
    use cbc::cipher::{BlockDecryptMut, KeyIvInit};
    let mut algorithm = Der::new(algorithm);
    if algorithm.expect(OID)? != PBES2 {
        return Err("the keystore uses a legacy PKCS#12 cipher (3DES or RC2); convert it with `keytool -importkeystore` (JDK 12+) or `openssl pkcs12` 3.x, which write AES".into());
    }
    let mut params = Der::new(algorithm.expect(SEQUENCE)?);
    let mut kdf = Der::new(params.expect(SEQUENCE)?);
    if kdf.expect(OID)? != PBKDF2 {
        return Err("the keystore's key derivation is not PBKDF2".into());
    }
    let mut kdf_params = Der::new(kdf.expect(SEQUENCE)?);
    let salt = kdf_params.expect(OCTET_STRING)?;
    let iterations = kdf_params
        .expect(INTEGER)?
        .iter()
        .fold(0u64, |acc, &b| (acc << 8) | b as u64);
    let mut prf = HMAC_SHA1;
    while !kdf_params.is_empty() {
        // The optional key length is skipped: the cipher says it.
        if let (SEQUENCE, content, _) = kdf_params.next()? {
            prf = Der::new(content).expect(OID)?;
        }
    }
    let mut scheme = Der::new(params.expect(SEQUENCE)?);
    let cipher = scheme.expect(OID)?;
    let iv = scheme.expect(OCTET_STRING)?;
    let key_len = match cipher.strip_prefix(AES_CBC_PREFIX) {
        Some([0x02]) => 16,
        Some([0x16]) => 24,
        Some([0x2a]) => 32,
        _ => return Err("the keystore's cipher is not AES-CBC".into()),
    };
    if iterations == 0 || iterations > 10_000_000 || iv.len() != 16 {
        return Err("the keystore's encryption parameters are not valid".into());
    }
    let mut key = vec![0u8; key_len];
    let rounds = iterations as u32;
    match prf {
        p if p == HMAC_SHA1 => {
            pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password.as_bytes(), salt, rounds, &mut key)
        }
        p if p == HMAC_SHA256 => {
            pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), salt, rounds, &mut key)
        }
        p if p == HMAC_SHA384 => {
            pbkdf2::pbkdf2_hmac::<sha2::Sha384>(password.as_bytes(), salt, rounds, &mut key)
        }
        p if p == HMAC_SHA512 => {
            pbkdf2::pbkdf2_hmac::<sha2::Sha512>(password.as_bytes(), salt, rounds, &mut key)
        }
        _ => return Err("the keystore's PBKDF2 uses an unknown HMAC".into()),
    }
    let mut buf = data.to_vec();
    let wrong = || "keystore password was incorrect".to_string();
    let plain = match key_len {
        16 => cbc::Decryptor::<aes::Aes128>::new_from_slices(&key, iv)
            .map_err(|_| wrong())?
            .decrypt_padded_mut::<Pkcs7>(&mut buf)
            .map_err(|_| wrong())?
            .len(),
        24 => cbc::Decryptor::<aes::Aes192>::new_from_slices(&key, iv)
            .map_err(|_| wrong())?
            .decrypt_padded_mut::<Pkcs7>(&mut buf)
            .map_err(|_| wrong())?
            .len(),
        _ => cbc::Decryptor::<aes::Aes256>::new_from_slices(&key, iv)
            .map_err(|_| wrong())?
            .decrypt_padded_mut::<Pkcs7>(&mut buf)
            .map_err(|_| wrong())?
            .len(),
    };
    buf.truncate(plain);
    // A wrong password can unpad by chance; what follows must still be DER.
    if buf.first() != Some(&SEQUENCE) {
        return Err(wrong());
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> Vec<u8> {
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/jmx-fixtures/tls/users.p12"
        ))
        .unwrap()
    }

    /// `users.p12` was written by keytool (JDK 17): two key entries, PBES2 with AES-256.
    #[test]
    fn reads_a_keytool_keystore() {
        let entries = load_pkcs12(&fixture(), "changeit").unwrap();
        let aliases: Vec<&str> = entries.iter().map(|e| e.alias.as_str()).collect();
        assert_eq!(aliases, ["alice", "bob"]);
        assert!(entries.iter().all(|e| e.chain.len() == 1));
        assert_eq!(
            load_pkcs12(&fixture(), "wrong").unwrap_err(),
            "keystore password was incorrect"
        );
    }

    proptest::proptest! {
        /// Damaged keystores are refused with a message, never a panic.
        #[test]
        fn damaged_keystores_are_refused(at in 0usize..2600, byte in proptest::num::u8::ANY, cut in 0usize..2600) {
            let mut bytes = fixture();
            let at = at % bytes.len();
            bytes[at] = byte;
            bytes.truncate(cut.max(1));
            let _ = load_pkcs12(&bytes, "changeit");
        }
    }
}
