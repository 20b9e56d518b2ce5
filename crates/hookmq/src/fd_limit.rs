//! The process's open-file limit: raised at start so the broker can hold as many connections as
//! the operator's hard limit allows. Called once by `main` before the listeners open.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// What [`raise`] did, for the startup log.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Raised {
    /// The soft limit was already at the hard limit (or unlimited).
    AlreadyAtMax(Option<u64>),
    /// The soft limit went from the first value to the second.
    From(Option<u64>, Option<u64>),
    /// The kernel refused the change; the limit stays as it was.
    Refused(Option<u64>, rustix::io::Errno),
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit. A default soft limit of 1024 would cap the
/// broker at about a thousand clients, far below what operators expect from a broker.
pub(crate) fn raise() -> Raised {
    let limit = getrlimit(Resource::Nofile);
    if limit.current == limit.maximum {
        return Raised::AlreadyAtMax(limit.current);
    }
    let wanted = Rlimit {
        current: limit.maximum,
        maximum: limit.maximum,
    };
    match setrlimit(Resource::Nofile, wanted) {
        Ok(()) => Raised::From(limit.current, limit.maximum),
        Err(e) => Raised::Refused(limit.current, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_raising_the_soft_limit_equals_the_hard_limit() {
        if let Raised::Refused(..) = raise() {
            return;
        }
        let after = getrlimit(Resource::Nofile);
        assert_eq!(after.current, after.maximum);
        // A second call has nothing left to do.
        assert_eq!(raise(), Raised::AlreadyAtMax(after.current));
    }
}
