//! Generates the console's stylesheet from the Tailwind utility classes used in `src/`, with
//! encre-css, so running Gatehouse needs no Node. The CSS is embedded in the server binary
//! and served under a content-hashed path, so browsers never keep a stale copy.

use encre_css::config::DarkMode;
use sha2::{Digest, Sha256};
use std::fs;
use std::path::{Path, PathBuf};

fn rust_sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .expect("read app/src")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn main() {
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=../style/base.css");

    let mut files = Vec::new();
    rust_sources(Path::new("src"), &mut files);
    let sources: Vec<String> = files
        .iter()
        .map(|f| fs::read_to_string(f).expect("read source"))
        .collect();

    let mut config = encre_css::Config::default();
    // The theme is chosen per visitor (a cookie, or the OS setting applied by theme.js), so
    // `dark:` utilities follow a class on <html>, not the media query.
    config.theme.dark_mode = DarkMode::new_class(".dark");
    let utilities = encre_css::generate(sources.iter().map(String::as_str), &config);
    let base = fs::read_to_string("../style/base.css").expect("read style/base.css");
    let css = format!("{utilities}\n{base}");

    let hash = Sha256::digest(css.as_bytes());
    let short: String = hash.iter().take(6).map(|b| format!("{b:02x}")).collect();
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    fs::write(out.join("gatehouse.css"), css).expect("write css");
    println!("cargo:rustc-env=GATEHOUSE_CSS_HASH={short}");
}
