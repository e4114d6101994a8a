//! The workspace's test layout: a crate whose tests are one binary (`autotests = false`,
//! `tests/all.rs`) runs every file of its `tests/` folder, none left out by mistake.

use std::fs;
use std::path::Path;

/// The names of a crate's `tests/*.rs` files, but for `all.rs`.
fn test_files(tests: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(tests)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .filter(|n| n != "all")
        .collect();
    names.sort();
    names
}

#[test]
fn every_test_file_of_a_one_binary_crate_is_a_module_of_its_binary() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut one_binary = 0;
    for entry in fs::read_dir(crates).unwrap() {
        let dir = entry.unwrap().path();
        let Ok(manifest) = fs::read_to_string(dir.join("Cargo.toml")) else { continue };
        if !manifest.lines().any(|l| l.trim() == "autotests = false") {
            assert!(!dir.join("tests/all.rs").exists(), "{}: tests/all.rs but autotests", dir.display());
            continue;
        }
        one_binary += 1;
        assert!(
            manifest.contains("path = \"tests/all.rs\""),
            "{}: no [[test]] for tests/all.rs",
            dir.display()
        );
        let all = fs::read_to_string(dir.join("tests/all.rs")).unwrap();
        let declared: Vec<&str> =
            all.lines().filter_map(|l| l.trim().strip_prefix("mod ")?.strip_suffix(';')).collect();
        for name in test_files(&dir.join("tests")) {
            assert!(
                declared.contains(&name.as_str()),
                "{}/tests/{name}.rs is not a `mod` of tests/all.rs, so none of its tests run",
                dir.display()
            );
        }
    }
    assert!(one_binary >= 6, "the crates with one test binary: {one_binary}");
}
