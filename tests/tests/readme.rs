//! Every `rust` block of the README compiles as a user would paste it: as the `src/main.rs`
//! of a new project whose `[dependencies]` are the README's `toml` blocks.
//!
//! The test writes that project under the target directory (`<target>/readme-project`, its
//! own `[workspace]`, this workspace's `Cargo.lock` so the versions match, the `tethered`
//! git source rewritten to this checkout), one example per block, and builds it offline
//! with a target directory of its own (`<target>/readme-target`, so it never waits on the
//! outer cargo's lock) and warnings denied. The first run compiles the dependencies (about
//! a minute and a half on two cores); later runs only the blocks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The README's `rust` blocks today; a test that found fewer would prove less.
const RUST_BLOCKS: usize = 5;
/// Its `toml` blocks with a `[dependencies]` table.
const DEPENDENCY_BLOCKS: usize = 2;

/// A fenced block: its info string (`rust`, `toml`, ...) and its text.
struct Block {
    info: String,
    text: String,
}

/// The fenced blocks of `markdown`, in order.
fn blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for line in markdown.lines() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => {
                open = Some(Block {
                    info: info.trim().to_owned(),
                    text: String::new(),
                });
            }
            (Some(_), Some("")) => blocks.extend(open.take()),
            (Some(block), _) => {
                block.text.push_str(line);
                block.text.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "the README ends inside a fenced block");
    blocks
}

/// The dependencies of every `[dependencies]` block, by name; a later block's line for a
/// crate replaces an earlier one (the README's later blocks add features). `tethered`'s
/// git or path source becomes `workspace`.
fn dependencies(toml_blocks: &[&Block], workspace: &Path) -> BTreeMap<String, String> {
    let mut dependencies = BTreeMap::new();
    for block in toml_blocks {
        let mut lines = block.text.lines();
        assert_eq!(
            lines.next(),
            Some("[dependencies]"),
            "a dependency block holds one table:\n{}",
            block.text
        );
        for line in lines.filter(|line| !line.trim().is_empty()) {
            let (name, _) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("not a dependency: {line}"));
            let name = name.trim().to_owned();
            let line = if name == "tethered" {
                local_source(line, workspace)
            } else {
                line.to_owned()
            };
            dependencies.insert(name, line);
        }
    }
    dependencies
}

/// `line` (`tethered = { git = "...", features = [...] }`) with its `git` or `path` source
/// replaced by `workspace`.
fn local_source(line: &str, workspace: &Path) -> String {
    let key = ["git = \"", "path = \""]
        .into_iter()
        .find(|key| line.contains(key))
        .unwrap_or_else(|| panic!("tethered without a git or path source: {line}"));
    let start = line.find(key).expect("found above");
    let end = start
        + key.len()
        + line[start + key.len()..]
            .find('"')
            .unwrap_or_else(|| panic!("an unclosed string: {line}"))
        + 1;
    format!(
        "{}path = {:?}{}",
        &line[..start],
        workspace.display().to_string(),
        &line[end..]
    )
}

/// The target directory this test was built into: `CARGO_TARGET_DIR` when absolute, or
/// else three levels above the test binary (`<target>/debug/deps/readme-...`).
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from)
        && dir.is_absolute()
    {
        return dir;
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.ancestors()
        .nth(3)
        .expect("the binary lives in <target>/<profile>/deps")
        .to_owned()
}

#[test]
fn every_readme_block_compiles_in_a_new_project() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace");
    let readme = std::fs::read_to_string(workspace.join("README.md")).expect("README.md");
    let blocks = blocks(&readme);
    let rust: Vec<&Block> = blocks
        .iter()
        .filter(|b| b.info.starts_with("rust"))
        .collect();
    let toml: Vec<&Block> = blocks
        .iter()
        .filter(|b| b.info == "toml" && b.text.contains("[dependencies]"))
        .collect();
    assert!(
        rust.len() >= RUST_BLOCKS && toml.len() >= DEPENDENCY_BLOCKS,
        "found {} rust and {} dependency blocks in README.md, expected at least {RUST_BLOCKS} \
         and {DEPENDENCY_BLOCKS}",
        rust.len(),
        toml.len()
    );
    for block in &rust {
        let hidden = block.text.lines().find(|line| line.starts_with("# "));
        assert!(
            hidden.is_none(),
            "a hidden doctest line would be pasted too: {hidden:?}"
        );
    }

    let target = target_dir();
    let project = target.join("readme-project");
    let examples = project.join("examples");
    if examples.exists() {
        std::fs::remove_dir_all(&examples).expect("remove the last run's blocks");
    }
    std::fs::create_dir_all(&examples).expect("create the project");
    let dependencies: String = dependencies(&toml, workspace)
        .into_values()
        .map(|line| line + "\n")
        .collect();
    let manifest = format!(
        "[package]\nname = \"readme-project\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\
         publish = false\n\n[dependencies]\n{dependencies}\n# Not part of tethered's \
         workspace.\n[workspace]\n"
    );
    std::fs::write(project.join("Cargo.toml"), manifest).expect("write Cargo.toml");
    std::fs::copy(workspace.join("Cargo.lock"), project.join("Cargo.lock"))
        .expect("copy Cargo.lock");
    for (n, block) in rust.iter().enumerate() {
        std::fs::write(examples.join(format!("block_{}.rs", n + 1)), &block.text)
            .expect("write a block");
    }

    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let started = std::time::Instant::now();
    let output = Command::new(cargo)
        .current_dir(&project)
        .args(["build", "--offline", "--examples"])
        .env("CARGO_TARGET_DIR", target.join("readme-target"))
        .env("RUSTFLAGS", "-D warnings")
        .output()
        .expect("run cargo");
    println!(
        "built {} README blocks in {:.1?}",
        rust.len(),
        started.elapsed()
    );
    assert!(
        output.status.success(),
        "a README block does not compile (examples/block_N.rs in {}):\n{}",
        project.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}
