//! Password files (every hash scheme the parser reads) and ACL files (Mosquitto and EMQX
//! syntaxes, placeholders, every kind of rule subject) for the `passwd_file` and `acl_file`
//! targets. ACL seeds start with the syntax selector byte: 0 auto, 1 Mosquitto, 2 EMQX.

use super::Seed;

const ARGON2: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$5j4X0yQ0xFbsE4gM9o6xHzdD0WfZb3rVd6pHB0VJc2Y";
const SIX: &str = "$6$c2FsdHNhbHRzYWx0$upfVVfdk1wuq4oaO0WskiLMD8f29DsnYAbie2XwdOw4NXP6IO55bx2FJikHnOlHKP4NSNTDTTlFFWzDMm6RxhA==";
const SEVEN: &str = "$7$101$c2FsdHNhbHRzYWx0$LLKkEbEE6A0ZzBgDD1a8DxtZgwjUsWayIyP80udI8/oy/V5JrBisQZnPkSqa7DTcD2GFAT9Bqc/9Z8XDXv/2PA==";
const BCRYPT: &str = "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";
const PBKDF2: &str =
    "$pbkdf2-sha256$1000$c2FsdHNhbHRzYWx0MTIzNA$Gv1ppJ66rBGZ4SMZjQl10XY734zFaJuHAY10Xd6pb.U";
const EMQX: &str = "$sha256$suffix$c2xhdF9mb28xMjM=$RO3C1Xzejx nJgUUAPhBbkKFPFGC3kYbqnP6DlC/Fq7U=";

/// Password files.
pub(super) fn passwd_files() -> Vec<Seed> {
    let files = [
        ("argon2", format!("alice:{ARGON2}\n")),
        ("mosquitto", format!("a:{SIX}\nb:{SEVEN}\n")),
        (
            "flags",
            format!("# users\n\nroot:{SEVEN}:superuser\r\nx:{BCRYPT}:\n"),
        ),
        ("pbkdf2", format!("p:{PBKDF2}\n")),
        ("emqx", format!("e:{}:superuser\n", EMQX.replace(' ', ""))),
        ("twice", format!("a:{SIX}\na:{SIX}\n")),
        ("plain", "a:secret\n".to_owned()),
        ("costly", "a:$7$99999999999$c2FsdA==$c2FsdA==\n".to_owned()),
        ("no-hash", "lonely\n".to_owned()),
        ("bad-flag", format!("a:{SIX}:admin\n")),
        ("empty", String::new()),
    ];
    files
        .into_iter()
        .map(|(n, t)| Seed::new(n, t.into_bytes()))
        .collect()
}

/// ACL files.
pub(super) fn acl_files() -> Vec<Seed> {
    let files: [(&str, u8, &str); 11] = [
        (
            "mosquitto",
            1,
            "topic read public/#\nuser alice\ntopic alice/#\ntopic deny alice/secret\n\
             pattern write devices/%c/up\npattern read users/%u/#\n",
        ),
        (
            "mosquitto-auto",
            0,
            "user bob\ntopic write bob/in\ntopic read $SYS/#\n",
        ),
        (
            "emqx4",
            2,
            "%% rules\n{allow, {username, \"dashboard\"}, subscribe, [\"$SYS/#\"]}.\n\
             {allow, {ipaddr, \"127.0.0.1\"}, pubsub, [\"$SYS/#\", \"#\"]}.\n\
             {deny, all, subscribe, [\"$SYS/#\", {eq, \"#\"}]}.\n{allow, all}.\n",
        ),
        (
            "emqx5",
            0,
            "{allow, {'and', [{clientid, {re, \"^dev-\"}}, {ipaddrs, [\"10.0.0.0/8\", \"::1\"]}]}, \
             all, [\"dev/${clientid}/#\", \"u/${username}\"]}.\n\
             {deny, {'or', [{user, \"x\"}, {client, \"y\"}]}, publish, [\"#\"]}.\n",
        ),
        (
            "emqx-conditions",
            2,
            "{allow, all, {publish, [{qos, 1}]}, [\"t\"]}.\n",
        ),
        ("emqx-unterminated", 2, "{allow, all, all, [\"a\"]}"),
        (
            "emqx-deep",
            2,
            "{allow, {'and', [{'and', [{'and', [all]}]}]}, all, [\"a\"]}.\n",
        ),
        ("mosquitto-bad", 1, "user\ntopik read x\n"),
        ("mosquitto-wildcard-inside", 1, "topic read a/b#\n"),
        (
            "emqx-strings",
            2,
            "{allow, {username, \"a\\\"b\\\\c\"}, all, [\"x y\", \"\\n\"]}.\n",
        ),
        ("empty", 0, ""),
    ];
    files
        .into_iter()
        .map(|(n, sel, t)| {
            let mut bytes = vec![sel];
            bytes.extend_from_slice(t.as_bytes());
            Seed::new(n, bytes)
        })
        .collect()
}
