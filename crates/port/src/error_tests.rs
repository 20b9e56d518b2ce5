//! The error texts users read, and the causes kept behind them.

use std::error::Error as _;

use super::*;

#[test]
fn causes_are_kept_and_shown() {
    let dir = std::env::temp_dir();
    let err = crate::conf_file::read(&dir).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("cannot read {}: ", dir.display())),
        "{text}"
    );
    assert!(err.source().unwrap().is::<std::io::Error>());
    let bad = InitError::Refused {
        reason: "no_db".into(),
    };
    let err = LoadError::BadInit {
        module: "hooks".into(),
        source: bad.clone(),
    }
    .of_worker(1, 2);
    assert_eq!(
        err.to_string(),
        "worker 1: hooks: init() returned an error: no_db"
    );
    let inner = err.source().unwrap().source().unwrap();
    assert_eq!(inner.downcast_ref::<InitError>(), Some(&bad));
}

#[test]
fn texts_name_what_and_why() {
    let exited = |stderr: &str| LoadError::Exited {
        module: "main".into(),
        status: "exit status: 1".into(),
        stderr: stderr.into(),
    };
    assert_eq!(
        exited("").to_string(),
        "the worker exited (exit status: 1) before main.init() answered"
    );
    assert!(
        exited("boom")
            .to_string()
            .ends_with("answered; its stderr:\nboom")
    );
    let timeout = LoadError::InitTimeout {
        module: "Main".into(),
        after: Duration::from_millis(1500),
    };
    assert_eq!(
        timeout.to_string(),
        "Main.init() did not answer within 1500ms (init_timeout)"
    );
    let nowhere = RuntimeError::NotFound { looked: Vec::new() };
    assert!(nowhere.to_string().contains("(looked in: nowhere)"));
    let d = SettingError::NoUnit { text: "5".into() };
    assert_eq!(
        d.to_string(),
        "\"5\" has no unit (write e.g. 5ms or 5s; EMQX read a bare number as ms)"
    );
}
