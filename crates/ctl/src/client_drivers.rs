//! `hookmq ctl plugins ...` and `hookmq ctl exhook drivers ...`: the port drivers.

use serde_json::Value;

/// `hookmq ctl plugins ...`
#[derive(Debug, clap::Subcommand)]
pub enum PluginsCommand {
    /// List plugins.
    List,
}

/// `hookmq ctl exhook drivers ...`
#[derive(Debug, clap::Subcommand)]
pub enum DriversCommand {
    /// List drivers.
    List,
}

/// The API request for a plugins command: method, path, body.
pub(crate) fn plugins_request(cmd: &PluginsCommand) -> (&'static str, String, Option<Value>) {
    match cmd {
        PluginsCommand::List => ("GET", "/api/v1/plugins".into(), None),
    }
}

/// The API request for a drivers command: method, path, body.
pub(crate) fn drivers_request(cmd: &DriversCommand) -> (&'static str, String, Option<Value>) {
    match cmd {
        DriversCommand::List => ("GET", "/api/v1/exhook/drivers".into(), None),
    }
}

/// Human-readable output of a plugins command.
pub(crate) fn plugins_human(_cmd: &PluginsCommand, answer: &Value) -> String {
    format!("{answer}\n")
}

/// Human-readable output of a drivers command.
pub(crate) fn drivers_human(_cmd: &DriversCommand, answer: &Value) -> String {
    format!("{answer}\n")
}
