//! `hookmq passwd`: manage a password file for `[auth.password_file]`, like Mosquitto's
//! `mosquitto_passwd`: add or change a user (argon2id), delete one, create the file, and import
//! the users of an EMQX built-in database export (JSON or CSV) with the hash settings the EMQX
//! authenticator used. The file is replaced atomically (written beside it, synced, renamed), so
//! a broker polling it never reads half a file.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use hookmq_auth::password::{
    PasswordEntry, PasswordFile, PasswordHash, SaltPosition, ShaKind, check_username,
};

/// Arguments of `hookmq passwd`.
#[derive(clap::Args)]
pub(crate) struct PasswdArgs {
    /// Create (or overwrite) the file instead of editing an existing one.
    #[arg(short = 'c')]
    create: bool,
    /// Delete the user.
    #[arg(short = 'D', conflicts_with_all = ["password_stdin", "superuser", "import_emqx"])]
    delete: bool,
    /// Read the password from the first line of standard input instead of prompting.
    #[arg(long)]
    password_stdin: bool,
    /// Mark the user as a superuser (authorization is skipped for superusers).
    #[arg(long)]
    superuser: bool,
    /// Import the users of an EMQX built-in database export (JSON array or CSV with the
    /// columns user_id,password_hash,salt,is_superuser) instead of naming one user.
    #[arg(long, value_name = "EXPORT", conflicts_with_all = ["password_stdin", "superuser"])]
    import_emqx: Option<PathBuf>,
    /// The EMQX authenticator's password_hash_algorithm: bcrypt, pbkdf2-sha256,
    /// pbkdf2-sha512, sha256 or sha512 (EMQX 5's default is sha256 with a suffix salt).
    #[arg(long, default_value = "sha256", requires = "import_emqx")]
    emqx_algorithm: String,
    /// The EMQX authenticator's salt_position for sha256/sha512: suffix, prefix or disable.
    #[arg(long, default_value = "suffix", requires = "import_emqx")]
    emqx_salt_position: String,
    /// The EMQX authenticator's PBKDF2 iterations.
    #[arg(long, default_value_t = 4096, requires = "import_emqx")]
    emqx_iterations: u32,
    /// The password file.
    file: PathBuf,
    /// The user name (not with --import-emqx).
    #[arg(required_unless_present = "import_emqx")]
    user: Option<String>,
}

/// Runs the command; errors are printed by the caller.
pub(crate) fn run(args: PasswdArgs) -> anyhow::Result<()> {
    let mut file = if args.create {
        PasswordFile::default()
    } else {
        let text = std::fs::read_to_string(&args.file).with_context(|| {
            format!("cannot read {} (use -c to create it)", args.file.display())
        })?;
        PasswordFile::parse(&text).map_err(|e| anyhow!("{}: {e}", args.file.display()))?
    };
    if let Some(export) = &args.import_emqx {
        let n = import_emqx(&mut file, export, &args)?;
        eprintln!("imported {n} users from {}", export.display());
    } else if let Some(user) = &args.user {
        check_username(user).map_err(|m| anyhow!(m))?;
        if args.delete {
            if !file.remove(user) {
                bail!("user {user:?} is not in {}", args.file.display());
            }
        } else {
            let password = read_password(args.password_stdin)?;
            let hash = PasswordHash::argon2id(password.as_bytes()).map_err(|m| anyhow!(m))?;
            file.set(
                user,
                PasswordEntry {
                    hash,
                    superuser: args.superuser,
                },
            );
        }
    }
    write_atomically(&args.file, &file.to_text())
}

fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\n', '\r']).to_owned()
    } else {
        let first = rpassword::prompt_password("Password: ")?;
        let second = rpassword::prompt_password("Reenter password: ")?;
        if first != second {
            bail!("the passwords do not match");
        }
        first
    };
    if password.is_empty() {
        bail!("empty password");
    }
    Ok(password)
}

fn hex(text: &str) -> anyhow::Result<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        bail!("password_hash {text:?} is not hex");
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&text[i..i + 2], 16)
                .map_err(|_| anyhow!("password_hash {text:?} is not hex"))
        })
        .collect()
}

/// One user of an EMQX export.
#[derive(serde::Deserialize)]
struct EmqxUser {
    user_id: String,
    password_hash: String,
    #[serde(default)]
    salt: String,
    #[serde(default)]
    is_superuser: serde_json::Value,
}

fn emqx_users(text: &str) -> anyhow::Result<Vec<EmqxUser>> {
    if text.trim_start().starts_with('[') {
        return serde_json::from_str(text).context("EMQX export is not a JSON array of users");
    }
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines
        .next()
        .ok_or_else(|| anyhow!("empty export"))?
        .split(',')
        .map(str::trim)
        .collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let (Some(u), Some(h)) = (col("user_id"), col("password_hash")) else {
        bail!("CSV export needs the columns user_id and password_hash");
    };
    let (s, su) = (col("salt"), col("is_superuser"));
    lines
        .map(|line| {
            let f: Vec<&str> = line.split(',').map(str::trim).collect();
            let get = |i: Option<usize>| i.and_then(|i| f.get(i)).copied().unwrap_or("");
            Ok(EmqxUser {
                user_id: get(Some(u)).to_owned(),
                password_hash: get(Some(h)).to_owned(),
                salt: get(s).to_owned(),
                is_superuser: serde_json::Value::Bool(get(su) == "true"),
            })
        })
        .collect()
}

fn import_emqx(file: &mut PasswordFile, export: &Path, args: &PasswdArgs) -> anyhow::Result<usize> {
    let text = std::fs::read_to_string(export)
        .with_context(|| format!("cannot read {}", export.display()))?;
    let users = emqx_users(&text)?;
    let position = match args.emqx_salt_position.as_str() {
        "suffix" | "disable" => SaltPosition::Suffix,
        "prefix" => SaltPosition::Prefix,
        other => bail!("--emqx-salt-position {other:?}: suffix, prefix or disable"),
    };
    for u in &users {
        check_username(&u.user_id).map_err(|m| anyhow!(m))?;
        let salt = if args.emqx_salt_position == "disable" {
            Vec::new()
        } else {
            u.salt.as_bytes().to_vec()
        };
        let hash = match args.emqx_algorithm.as_str() {
            "bcrypt" => PasswordHash::parse(&u.password_hash)
                .ok()
                .filter(|h| matches!(h, PasswordHash::Bcrypt(_)))
                .ok_or_else(|| anyhow!("user {:?}: not a bcrypt hash", u.user_id))?,
            "pbkdf2-sha256" | "pbkdf2-sha512" => PasswordHash::Pbkdf2 {
                sha: if args.emqx_algorithm == "pbkdf2-sha256" {
                    ShaKind::Sha256
                } else {
                    ShaKind::Sha512
                },
                iterations: args.emqx_iterations,
                salt: u.salt.as_bytes().to_vec(),
                hash: hex(&u.password_hash)?,
                mosquitto: false,
            },
            "sha256" | "sha512" => PasswordHash::Salted {
                sha: if args.emqx_algorithm == "sha256" {
                    ShaKind::Sha256
                } else {
                    ShaKind::Sha512
                },
                position,
                salt,
                hash: hex(&u.password_hash)?,
                mosquitto: false,
            },
            other => bail!(
                "--emqx-algorithm {other:?}: bcrypt, pbkdf2-sha256, pbkdf2-sha512, sha256 or \
                 sha512 (plain, md5 and sha1 are not imported: reset those passwords)"
            ),
        };
        // The text form is what the broker will parse: refuse what it would refuse.
        let hash = PasswordHash::parse(&hash.to_text())
            .map_err(|m| anyhow!("user {:?}: {m}", u.user_id))?;
        let superuser = match &u.is_superuser {
            serde_json::Value::Bool(b) => *b,
            serde_json::Value::String(s) => s == "true",
            serde_json::Value::Number(n) => n.as_u64() == Some(1),
            _ => false,
        };
        file.set(&u.user_id, PasswordEntry { hash, superuser });
    }
    Ok(users.len())
}

/// Writes `text` to a temporary file beside `path` (mode 0600, or `path`'s mode), syncs it and
/// renames it over `path`.
fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let mode = std::fs::metadata(path).map_or(0o600, |m| m.permissions().mode() & 0o7777);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("{} is not a file name", path.display()))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}
