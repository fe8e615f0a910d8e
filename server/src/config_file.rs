//! The optional configuration file (`--config FILE` or `GATEHOUSE_CONFIG=FILE`).
//!
//! A TOML file whose keys are the settings' environment variable names in lower case
//! without the `GATEHOUSE_` prefix (`GATEHOUSE_PUBLIC_URL` → `public_url`). Precedence:
//! command line > environment > file > built-in default. The file's values become clap's
//! defaults for the arguments they name, so a flag or an environment variable still wins,
//! and each value goes through the same parser (and range check) as on the command line.
//! Unknown keys and values of the wrong type are refused, naming the key and the file.

use clap::{Arg, ArgAction, Command};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Prefix of every setting's environment variable.
pub const ENV_PREFIX: &str = "GATEHOUSE_";

/// The variable that names the configuration file (also `--config`).
pub const CONFIG_ENV: &str = "GATEHOUSE_CONFIG";

/// The one setting that has no command-line flag (so it never shows in the process list):
/// it may come from the environment or the file only.
pub const ADMIN_PASSWORD_KEY: &str = "admin_password";

/// The settings a configuration file gave, checked.
#[derive(Clone, Debug, Default)]
pub struct FileSettings {
    path: Option<PathBuf>,
    values: BTreeMap<String, String>,
}

impl FileSettings {
    /// The file the settings came from, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The value the file gives `key`, as text.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.values.contains_key(key)
    }
}

/// What kind of TOML value a setting takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Text,
    Integer,
    Bool,
}

impl Kind {
    fn of(arg: &Arg) -> Kind {
        if matches!(arg.get_action(), ArgAction::SetTrue | ArgAction::SetFalse) {
            return Kind::Bool;
        }
        let id = arg.get_value_parser().type_id();
        let integers = [
            std::any::TypeId::of::<u64>(),
            std::any::TypeId::of::<u32>(),
            std::any::TypeId::of::<u16>(),
            std::any::TypeId::of::<i64>(),
        ];
        if integers.iter().any(|t| id == *t) {
            Kind::Integer
        } else {
            Kind::Text
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Kind::Text => "a string (in double quotes)",
            Kind::Integer => "a whole number (without quotes)",
            Kind::Bool => "true or false (without quotes)",
        }
    }
}

/// The setting key an argument answers to: its environment variable without the prefix,
/// in lower case. `None` for arguments that are not settings (and for `--config` itself).
pub fn key_of(arg: &Arg) -> Option<String> {
    let env = arg.get_env()?.to_str()?;
    if env == CONFIG_ENV {
        return None;
    }
    env.strip_prefix(ENV_PREFIX).map(str::to_ascii_lowercase)
}

/// Every setting of `cmd` and its subcommands, by key, with one argument that takes it.
pub fn settings(cmd: &Command) -> BTreeMap<String, Arg> {
    fn walk(cmd: &Command, out: &mut BTreeMap<String, Arg>) {
        for arg in cmd.get_arguments() {
            if let Some(key) = key_of(arg) {
                out.entry(key).or_insert_with(|| arg.clone());
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, out);
        }
    }
    let mut out = BTreeMap::new();
    walk(cmd, &mut out);
    out
}

/// The configuration file named by `--config FILE` (or `--config=FILE`) on the command
/// line, else by GATEHOUSE_CONFIG.
pub fn locate(args: &[OsString]) -> Option<PathBuf> {
    let mut iter = args.iter().skip(1);
    while let Some(arg) = iter.next() {
        let Some(text) = arg.to_str() else { continue };
        if text == "--" {
            break;
        }
        if text == "--config" {
            return iter.next().map(PathBuf::from);
        }
        if let Some(path) = text.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os(CONFIG_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Reads and checks the file against the settings `cmd` knows. Every problem is reported
/// at once, one a line, each naming the file and the key.
pub fn load(path: &Path, cmd: &Command) -> Result<FileSettings, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read the configuration file {} (named by --config or {CONFIG_ENV}): {e}",
            path.display()
        )
    })?;
    parse(path, &text, cmd)
}

/// Checks the text of a configuration file; `path` only names it in messages.
pub fn parse(path: &Path, text: &str, cmd: &Command) -> Result<FileSettings, String> {
    let file = path.display();
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        format!("{file}: not valid TOML: {}", e.to_string().trim())
    })?;
    let known = settings(cmd);
    let mut values = BTreeMap::new();
    let mut problems = Vec::new();
    for (key, value) in &table {
        let (kind, arg) = if key == ADMIN_PASSWORD_KEY {
            (Kind::Text, None)
        } else if let Some(arg) = known.get(key) {
            (Kind::of(arg), Some(arg))
        } else {
            let mut names: Vec<&str> = known.keys().map(String::as_str).collect();
            names.push(ADMIN_PASSWORD_KEY);
            names.sort_unstable();
            problems.push(format!(
                "{file}: unknown setting `{key}` (the settings are: {})",
                names.join(", ")
            ));
            continue;
        };
        let text = match (kind, value) {
            (Kind::Text, toml::Value::String(s)) => s.clone(),
            (Kind::Integer, toml::Value::Integer(i)) => i.to_string(),
            (Kind::Bool, toml::Value::Boolean(b)) => b.to_string(),
            (kind, other) => {
                problems.push(format!(
                    "{file}: `{key}` must be {} (got {})",
                    kind.describe(),
                    other.type_str()
                ));
                continue;
            }
        };
        if let (Some(arg), Kind::Text | Kind::Integer) = (arg, kind) {
            if let Err(reason) = check_value(arg, &text) {
                // Secrets are never echoed back.
                let shown = if is_secret(key) {
                    String::new()
                } else {
                    format!(" = {value}")
                };
                problems.push(format!("{file}: `{key}`{shown}: {reason}"));
                continue;
            }
        }
        values.insert(key.clone(), text);
    }
    if problems.is_empty() {
        Ok(FileSettings {
            path: Some(path.to_path_buf()),
            values,
        })
    } else {
        Err(problems.join("\n"))
    }
}

/// Settings whose values are never printed or logged.
pub fn is_secret(key: &str) -> bool {
    matches!(key, "secret_key" | "metrics_token" | ADMIN_PASSWORD_KEY)
}

/// Runs the argument's own parser over `value`, as if it had been given on the command line.
fn check_value(arg: &Arg, value: &str) -> Result<(), String> {
    let Some(long) = arg.get_long() else {
        return Ok(());
    };
    let probe = arg
        .clone()
        .env(None::<&'static str>)
        .default_value(None::<&'static str>)
        .required(false);
    let result = Command::new("gatehouse").arg(probe).try_get_matches_from([
        OsString::from("gatehouse"),
        format!("--{long}={value}").into(),
    ]);
    match result {
        Ok(_) => Ok(()),
        Err(e) => {
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or_default();
            let reason = first
                .rsplit_once("': ")
                .map(|(_, r)| r)
                .unwrap_or(first.trim_start_matches("error: "));
            Err(format!("invalid value: {reason}"))
        }
    }
}

/// Makes the file's values the defaults of the arguments they name, in `cmd` and all its
/// subcommands, so the command line and the environment still take precedence.
pub fn apply(cmd: Command, file: &FileSettings) -> Command {
    if file.values.is_empty() {
        return cmd;
    }
    cmd.mut_args(
        |arg| match key_of(&arg).and_then(|k| file.values.get(&k).cloned()) {
            // Not shown as a default in --help: it is the file's value (and may be a secret).
            Some(value) if arg.get_action().takes_values() => {
                arg.default_value(value).hide_default_value(true)
            }
            Some(value) => arg.default_value(value),
            None => arg,
        },
    )
    .mut_subcommands(|sub| apply(sub, file))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    #[derive(clap::Parser, Debug)]
    struct Demo {
        #[arg(long, env = "GATEHOUSE_DEMO_URL")]
        demo_url: Option<String>,
        #[arg(long, env = "GATEHOUSE_DEMO_MINUTES", default_value_t = 30,
              value_parser = clap::value_parser!(u64).range(1..=1440))]
        demo_minutes: u64,
        #[arg(long, env = "GATEHOUSE_DEMO_FLAG", default_value_t = false)]
        demo_flag: bool,
    }

    fn demo() -> Command {
        <Demo as clap::CommandFactory>::command()
    }

    #[test]
    fn keys_are_the_variables_without_prefix() {
        let keys: Vec<String> = settings(&demo()).into_keys().collect();
        assert_eq!(keys, ["demo_flag", "demo_minutes", "demo_url"]);
    }

    #[test]
    fn wrong_types_and_ranges_name_the_key_and_file() {
        let path = Path::new("/etc/gatehouse.toml");
        let e = parse(path, "demo_minutes = \"ten\"", &demo()).unwrap_err();
        assert!(
            e.contains("/etc/gatehouse.toml") && e.contains("`demo_minutes`"),
            "{e}"
        );
        assert!(e.contains("whole number"), "{e}");
        let e = parse(path, "demo_minutes = 5000", &demo()).unwrap_err();
        assert!(
            e.contains("`demo_minutes`") && e.contains("1..=1440"),
            "{e}"
        );
        let e = parse(path, "demo_flag = 1", &demo()).unwrap_err();
        assert!(e.contains("true or false"), "{e}");
        let e = parse(path, "demo_url = [1]", &demo()).unwrap_err();
        assert!(e.contains("`demo_url`") && e.contains("array"), "{e}");
    }

    #[test]
    fn file_values_are_defaults_under_the_command_line() {
        let file = parse(
            Path::new("g.toml"),
            "demo_url = \"https://a\"\ndemo_minutes = 7\ndemo_flag = true",
            &demo(),
        )
        .unwrap();
        let m = apply(demo(), &file).get_matches_from(["demo"]);
        let d = <Demo as clap::FromArgMatches>::from_arg_matches(&m).unwrap();
        assert_eq!(d.demo_url.as_deref(), Some("https://a"));
        assert_eq!(d.demo_minutes, 7);
        assert!(d.demo_flag);
        let m = apply(demo(), &file).get_matches_from(["demo", "--demo-minutes", "9"]);
        let d = <Demo as clap::FromArgMatches>::from_arg_matches(&m).unwrap();
        assert_eq!(d.demo_minutes, 9);
        let _ = Demo::try_parse_from(["demo"]);
    }
}
