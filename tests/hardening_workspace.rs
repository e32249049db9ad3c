//! Workspaces that are not what they should be: a file where the folder
//! should be, or a folder that does not exist yet for a read-only command.

use std::process::Command;

use dealsignal::store::Store;

fn dealsignal() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dealsignal"))
}

#[test]
fn workspace_that_is_a_file_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ws");
    std::fs::write(&file, "not a folder").unwrap();

    let message = Store::open(&file)
        .err()
        .expect("a file is no workspace")
        .to_string();

    assert!(message.contains("ws"), "{message}");
    assert!(message.contains("not a folder"), "{message}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "not a folder");
}

#[test]
fn models_on_a_missing_workspace_fails_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let workspace = dir.path().join("typo");

    let output = dealsignal()
        .args(["models", "--workspace"])
        .arg(&workspace)
        .output()
        .unwrap();

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no store here"), "{stderr}");
    assert!(
        !workspace.exists(),
        "models created {}",
        workspace.display()
    );
}

#[test]
fn two_runs_opening_a_new_workspace_at_once_both_succeed() {
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let workspace = dir.path().join("ws");
        let barrier = std::sync::Barrier::new(4);

        let results: Vec<String> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        Store::open(&workspace).err().map(|e| e.to_string())
                    })
                })
                .collect();
            handles
                .into_iter()
                .filter_map(|h| h.join().unwrap())
                .collect()
        });

        assert!(results.is_empty(), "{results:?}");
    }
}
