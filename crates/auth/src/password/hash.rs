//! One stored password hash: the schemes a password file may hold, parsed without hashing
//! anything (so a file is checked quickly and fuzzed cheaply), and verified with the hashing
//! crates. New hashes are argon2id; the other schemes are read so users of Mosquitto's
//! `mosquitto_passwd` and of EMQX's built-in database can bring their files along.
//!
//! | written as | scheme | from |
//! |---|---|---|
//! | `$argon2id$v=19$m=..,t=..,p=..$salt$hash` | argon2 (PHC string) | `hookmq passwd` |
//! | `$2a$`, `$2b$`, `$2y$` | bcrypt | EMQX, htpasswd |
//! | `$7$iterations$salt$hash` | PBKDF2-HMAC-SHA512, base64 | `mosquitto_passwd` 2.x |
//! | `$6$salt$hash` | SHA-512 of password then salt, base64 | `mosquitto_passwd` 1.x |
//! | `$pbkdf2-sha256$i=N$salt$hash` (or `$pbkdf2-sha512$`, or a bare `N`) | PBKDF2-HMAC | EMQX export, passlib |
//! | `$sha256$suffix$salt$hash` (or `prefix`, or `$sha512$`) | salted SHA-2 | EMQX export |

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use sha2::{Digest as _, Sha256, Sha512};
use subtle::ConstantTimeEq;

/// Largest argon2 memory cost accepted (KiB): a hash from a file must not let one login take
/// gigabytes.
const ARGON2_MAX_M: u64 = 262_144;
/// Largest argon2 time cost accepted.
const ARGON2_MAX_T: u64 = 32;
/// Largest argon2 parallelism accepted.
const ARGON2_MAX_P: u64 = 16;
/// Largest bcrypt cost accepted (2^16 rounds take seconds already).
const BCRYPT_MAX_COST: u32 = 16;
/// Largest PBKDF2 iteration count accepted.
const PBKDF2_MAX_ITERATIONS: u32 = 10_000_000;
/// Accepted lengths of a PBKDF2 or SHA-2 output, in bytes.
const OUTPUT_LEN: std::ops::RangeInclusive<usize> = 16..=128;

/// The SHA-2 function of a PBKDF2 or salted hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShaKind {
    /// SHA-256.
    Sha256,
    /// SHA-512.
    Sha512,
}

/// Where a salted SHA-2 hash puts the salt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaltPosition {
    /// `hash(salt ++ password)`.
    Prefix,
    /// `hash(password ++ salt)` (EMQX's default, and Mosquitto's `$6$`).
    Suffix,
}

/// A parsed password hash.
#[derive(Clone, PartialEq, Eq)]
pub enum PasswordHash {
    /// An argon2 PHC string, verified with the parameters it names.
    Argon2(String),
    /// A bcrypt string.
    Bcrypt(String),
    /// PBKDF2-HMAC: output length is the stored hash's length.
    Pbkdf2 {
        /// The HMAC's hash function.
        sha: ShaKind,
        /// Iteration count.
        iterations: u32,
        /// Salt bytes.
        salt: Vec<u8>,
        /// Expected output.
        hash: Vec<u8>,
        /// Written in Mosquitto's `$7$` form (kept when the file is rewritten, so Mosquitto can
        /// still read it).
        mosquitto: bool,
    },
    /// One round of SHA-2 over the salted password.
    Salted {
        /// The hash function.
        sha: ShaKind,
        /// Where the salt goes.
        position: SaltPosition,
        /// Salt bytes.
        salt: Vec<u8>,
        /// Expected digest.
        hash: Vec<u8>,
        /// Written in Mosquitto's `$6$` form.
        mosquitto: bool,
    },
}

impl std::fmt::Debug for PasswordHash {
    // Never print hash material into logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.scheme())
    }
}

/// Base64 as the schemes write it: standard alphabet with or without padding, and passlib's
/// variant with `.` for `+`.
fn b64(text: &str) -> Result<Vec<u8>, String> {
    let t = text.replace('.', "+");
    let engine = if t.ends_with('=') {
        &STANDARD
    } else {
        &STANDARD_NO_PAD
    };
    engine
        .decode(t.as_bytes())
        .map_err(|e| format!("bad base64 ({e})"))
}

fn output(bytes: Vec<u8>) -> Result<Vec<u8>, String> {
    if OUTPUT_LEN.contains(&bytes.len()) {
        Ok(bytes)
    } else {
        Err(format!(
            "hash of {} bytes (expected {} to {})",
            bytes.len(),
            OUTPUT_LEN.start(),
            OUTPUT_LEN.end()
        ))
    }
}

fn iterations(text: &str) -> Result<u32, String> {
    let n: u32 = text
        .parse()
        .map_err(|_| format!("bad iteration count {text:?}"))?;
    if n == 0 || n > PBKDF2_MAX_ITERATIONS {
        return Err(format!(
            "iteration count {n} outside 1..={PBKDF2_MAX_ITERATIONS}"
        ));
    }
    Ok(n)
}

impl PasswordHash {
    /// Reads a stored hash. Plain-text passwords and unknown schemes are refused.
    pub fn parse(text: &str) -> Result<PasswordHash, String> {
        let fields: Vec<&str> = text.split('$').collect();
        // Every scheme starts with `$`, so fields[0] is empty.
        if fields.len() < 3 || !fields[0].is_empty() {
            return Err(
                "not a password hash (plain-text passwords are not accepted; \
                        hash them with `hookmq passwd`)"
                    .into(),
            );
        }
        match fields[1] {
            "argon2id" | "argon2i" | "argon2d" => Self::argon2(text),
            "2a" | "2b" | "2y" | "2x" => {
                let parts: bcrypt::HashParts =
                    text.parse().map_err(|e| format!("bad bcrypt hash ({e})"))?;
                if parts.get_cost() > BCRYPT_MAX_COST {
                    return Err(format!(
                        "bcrypt cost {} above {BCRYPT_MAX_COST}",
                        parts.get_cost()
                    ));
                }
                Ok(PasswordHash::Bcrypt(text.to_owned()))
            }
            "7" if fields.len() == 5 => Ok(PasswordHash::Pbkdf2 {
                sha: ShaKind::Sha512,
                iterations: iterations(fields[2])?,
                salt: b64(fields[3])?,
                hash: output(b64(fields[4])?)?,
                mosquitto: true,
            }),
            "6" if fields.len() == 4 => Ok(PasswordHash::Salted {
                sha: ShaKind::Sha512,
                position: SaltPosition::Suffix,
                salt: b64(fields[2])?,
                hash: output(b64(fields[3])?)?,
                mosquitto: true,
            }),
            "pbkdf2-sha256" | "pbkdf2-sha512" if fields.len() == 5 => {
                let params = fields[2];
                let rounds = params
                    .split(',')
                    .find_map(|p| p.strip_prefix("i="))
                    .unwrap_or(params);
                Ok(PasswordHash::Pbkdf2 {
                    sha: if fields[1] == "pbkdf2-sha256" {
                        ShaKind::Sha256
                    } else {
                        ShaKind::Sha512
                    },
                    iterations: iterations(rounds)?,
                    salt: b64(fields[3])?,
                    hash: output(b64(fields[4])?)?,
                    mosquitto: false,
                })
            }
            "sha256" | "sha512" if fields.len() == 5 => Ok(PasswordHash::Salted {
                sha: if fields[1] == "sha256" {
                    ShaKind::Sha256
                } else {
                    ShaKind::Sha512
                },
                position: match fields[2] {
                    "prefix" => SaltPosition::Prefix,
                    "suffix" => SaltPosition::Suffix,
                    other => return Err(format!("salt position {other:?} (prefix or suffix)")),
                },
                salt: b64(fields[3])?,
                hash: output(b64(fields[4])?)?,
                mosquitto: false,
            }),
            other => Err(format!("unknown or malformed hash scheme ${other}$")),
        }
    }

    fn argon2(text: &str) -> Result<PasswordHash, String> {
        let phc = argon2::password_hash::phc::PasswordHash::new(text)
            .map_err(|e| format!("bad argon2 hash ({e})"))?;
        for (name, max) in [
            ("m", ARGON2_MAX_M),
            ("t", ARGON2_MAX_T),
            ("p", ARGON2_MAX_P),
        ] {
            let value = phc
                .params
                .get_decimal(name)
                .ok_or_else(|| format!("argon2 hash without {name}="))?;
            if u64::from(value) > max {
                return Err(format!("argon2 {name}={value} above {max}"));
            }
        }
        if phc.salt.is_none() || phc.hash.is_none() {
            return Err("argon2 hash without salt or output".into());
        }
        Ok(PasswordHash::Argon2(text.to_owned()))
    }

    /// A fresh argon2id hash (the crate's default parameters: 19 MiB, 2 passes, 1 lane, the
    /// OWASP recommendation) with a random salt.
    pub fn argon2id(password: &[u8]) -> Result<PasswordHash, String> {
        use argon2::password_hash::PasswordHasher as _;
        let hash = argon2::Argon2::default()
            .hash_password(password)
            .map_err(|e| format!("argon2: {e}"))?;
        Ok(PasswordHash::Argon2(hash.to_string()))
    }

    /// Whether `password` matches. Comparisons are constant time; the hash's own cost decides
    /// how long this takes, so run it off the async threads.
    pub fn verify(&self, password: &[u8]) -> bool {
        match self {
            PasswordHash::Argon2(text) => {
                use argon2::password_hash::PasswordVerifier as _;
                argon2::password_hash::phc::PasswordHash::new(text).is_ok_and(|phc| {
                    argon2::Argon2::default()
                        .verify_password(password, &phc)
                        .is_ok()
                })
            }
            PasswordHash::Bcrypt(text) => bcrypt::verify(password, text).unwrap_or(false),
            PasswordHash::Pbkdf2 {
                sha,
                iterations,
                salt,
                hash,
                ..
            } => {
                let mut out = vec![0u8; hash.len()];
                match sha {
                    ShaKind::Sha256 => {
                        pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, *iterations, &mut out)
                    }
                    ShaKind::Sha512 => {
                        pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, *iterations, &mut out)
                    }
                }
                out.ct_eq(hash).into()
            }
            PasswordHash::Salted {
                sha,
                position,
                salt,
                hash,
                ..
            } => {
                let (first, second): (&[u8], &[u8]) = match position {
                    SaltPosition::Prefix => (salt, password),
                    SaltPosition::Suffix => (password, salt),
                };
                let digest: Vec<u8> = match sha {
                    ShaKind::Sha256 => Sha256::new()
                        .chain_update(first)
                        .chain_update(second)
                        .finalize()
                        .to_vec(),
                    ShaKind::Sha512 => Sha512::new()
                        .chain_update(first)
                        .chain_update(second)
                        .finalize()
                        .to_vec(),
                };
                digest.ct_eq(hash).into()
            }
        }
    }

    /// The scheme's name, for listings and logs.
    pub fn scheme(&self) -> &'static str {
        match self {
            PasswordHash::Argon2(_) => "argon2",
            PasswordHash::Bcrypt(_) => "bcrypt",
            PasswordHash::Pbkdf2 {
                sha: ShaKind::Sha256,
                ..
            } => "pbkdf2-sha256",
            PasswordHash::Pbkdf2 {
                sha: ShaKind::Sha512,
                ..
            } => "pbkdf2-sha512",
            PasswordHash::Salted {
                sha: ShaKind::Sha256,
                ..
            } => "salted-sha256",
            PasswordHash::Salted {
                sha: ShaKind::Sha512,
                ..
            } => "salted-sha512",
        }
    }

    /// The text stored in a password file.
    pub fn to_text(&self) -> String {
        let e = |b: &[u8]| STANDARD.encode(b);
        let sha = |s: ShaKind| match s {
            ShaKind::Sha256 => "sha256",
            ShaKind::Sha512 => "sha512",
        };
        match self {
            PasswordHash::Argon2(t) | PasswordHash::Bcrypt(t) => t.clone(),
            PasswordHash::Pbkdf2 {
                iterations,
                salt,
                hash,
                mosquitto: true,
                ..
            } => format!("$7${iterations}${}${}", e(salt), e(hash)),
            PasswordHash::Pbkdf2 {
                sha: s,
                iterations,
                salt,
                hash,
                ..
            } => format!("$pbkdf2-{}$i={iterations}${}${}", sha(*s), e(salt), e(hash)),
            PasswordHash::Salted {
                salt,
                hash,
                mosquitto: true,
                ..
            } => format!("$6${}${}", e(salt), e(hash)),
            PasswordHash::Salted {
                sha: s,
                position,
                salt,
                hash,
                ..
            } => {
                let pos = match position {
                    SaltPosition::Prefix => "prefix",
                    SaltPosition::Suffix => "suffix",
                };
                format!("${}${pos}${}${}", sha(*s), e(salt), e(hash))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_round_trip_and_wrong_password() {
        let h = PasswordHash::argon2id(b"s3cret").unwrap();
        let text = h.to_text();
        assert!(
            text.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{text}"
        );
        let parsed = PasswordHash::parse(&text).unwrap();
        assert!(parsed.verify(b"s3cret"));
        assert!(!parsed.verify(b"s3cret "));
        assert!(!parsed.verify(b""));
    }

    #[test]
    fn mosquitto_sha512_and_pbkdf2_formats() {
        // Made with Python's hashlib: sha512(b"pw" + salt) and pbkdf2_hmac("sha512", b"pw", salt, 101).
        let six = "$6$c2FsdHNhbHRzYWx0$upfVVfdk1wuq4oaO0WskiLMD8f29DsnYAbie2XwdOw4NXP6IO55bx2FJikHnOlHKP4NSNTDTTlFFWzDMm6RxhA==";
        let h = PasswordHash::parse(six).unwrap();
        assert_eq!(h.to_text(), six);
        assert!(h.verify(b"pw"));
        assert!(!h.verify(b"pW"));
        let seven = "$7$101$c2FsdHNhbHRzYWx0$LLKkEbEE6A0ZzBgDD1a8DxtZgwjUsWayIyP80udI8/oy/V5JrBisQZnPkSqa7DTcD2GFAT9Bqc/9Z8XDXv/2PA==";
        let h = PasswordHash::parse(seven).unwrap();
        assert_eq!(h.to_text(), seven);
        assert!(h.verify(b"pw"));
        assert!(!h.verify(b"px"));
    }

    #[test]
    fn emqx_salted_sha256_test_vector() {
        // EMQX's documented example: password "public", salt "slat_foo123", sha256, suffix.
        let hex = "44edc2d57cde8d79c98145003e105b90a14f1460b79186ea9cfe83942fc5abb5";
        let hash: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let h = PasswordHash::Salted {
            sha: ShaKind::Sha256,
            position: SaltPosition::Suffix,
            salt: b"slat_foo123".to_vec(),
            hash,
            mosquitto: false,
        };
        assert!(h.verify(b"public"));
        let again = PasswordHash::parse(&h.to_text()).unwrap();
        assert_eq!(again, h);
        assert!(again.verify(b"public"));
        assert!(!again.verify(b"Public"));
    }

    #[test]
    fn bcrypt_and_passlib_pbkdf2() {
        let b = bcrypt::hash("pw", 4).unwrap();
        let h = PasswordHash::parse(&b).unwrap();
        assert!(h.verify(b"pw") && !h.verify(b"pw2"));
        // passlib's pbkdf2_sha256.hash("password", rounds=1000, salt=b"saltsaltsalt1234")
        let p = "$pbkdf2-sha256$1000$c2FsdHNhbHRzYWx0MTIzNA$Gv1ppJ66rBGZ4SMZjQl10XY734zFaJuHAY10Xd6pb.U";
        let h = PasswordHash::parse(p).unwrap();
        assert_eq!(h.scheme(), "pbkdf2-sha256");
        assert!(h.verify(b"password") && !h.verify(b"passwore"));
    }

    #[test]
    fn costly_or_malformed_hashes_are_refused_without_hashing() {
        for bad in [
            "plaintext",
            "$1$abc$def",
            "$7$0$c2FsdA==$c2FsdA==",
            "$7$99999999999$c2FsdA==$c2FsdA==",
            "$6$c2FsdA==$c2hvcnQ=",
            "$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
            "$2b$31$abcdefghijklmnopqrstuuLdOCSDlJd0qT7hFYbq1Y4yBqp8hBKG.",
            "$sha256$middle$c2FsdA==$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g=",
            "",
            "$",
            "$$$",
        ] {
            assert!(PasswordHash::parse(bad).is_err(), "{bad:?}");
        }
    }
}
