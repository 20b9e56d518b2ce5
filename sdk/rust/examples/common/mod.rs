//! What the examples share: their command line (`--listen host:port` and named options, the
//! same as the Python examples') and serving with the line the tests wait for.

#![allow(dead_code)]

use hookmq_ext::Extension;

/// `--name value` pairs from the command line.
pub(crate) struct Args(Vec<(String, String)>);

impl Args {
    /// Reads the command line; `listen` is the default `--listen`.
    pub(crate) fn parse(listen: &str) -> anyhow::Result<Args> {
        let mut pairs = vec![("--listen".to_owned(), listen.to_owned())];
        let mut it = std::env::args().skip(1);
        while let Some(name) = it.next() {
            let value = it
                .next()
                .ok_or_else(|| anyhow::anyhow!("{name} needs a value"))?;
            if name == "--listen" {
                pairs[0].1 = value;
            } else {
                pairs.push((name, value));
            }
        }
        Ok(Args(pairs))
    }

    /// The last value of an option.
    pub(crate) fn value(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeated option.
    pub(crate) fn values(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// Serves `ext` on `--listen`, printing `hookmq extension listening on port N`.
pub(crate) async fn serve(ext: Extension, args: &Args) -> anyhow::Result<()> {
    let listener =
        tokio::net::TcpListener::bind(args.value("--listen").unwrap_or_default()).await?;
    #[allow(clippy::print_stdout)]
    {
        println!(
            "hookmq extension listening on port {}",
            listener.local_addr()?.port()
        );
    }
    hookmq_ext::serve(ext, listener).await?;
    Ok(())
}
