//! `group serve --config FILE` refusals, before anything is opened: an
//! unknown key named with its line, a file over the size bound, a setting
//! required here or in the file. (A server running from its file:
//! tests/live/group/config.rs.)

use crate::world::World;

fn serve_with(w: &World, config: &str) -> (i32, String) {
    let path = w.path("group.toml");
    std::fs::write(&path, config).unwrap();
    let out = w
        .as_("alice")
        .args(["group", "serve", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_config_file_with_an_unknown_key_or_too_large_is_refused_with_the_place() {
    let w = World::new();
    let (code, err) = serve_with(&w, "listen = \"127.0.0.1:0\"\n# rates\nburts = 40\n");
    assert_eq!(code, 78, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("group.toml:3: unknown field `burts`"), "{err}");

    let (code, err) = serve_with(&w, &"#".repeat(65 * 1024));
    assert_eq!(code, 78, "{err}");
    assert!(err.contains("larger than 64 KiB"), "{err}");

    // No listen address in the file and none on the command line.
    let (code, err) = serve_with(&w, "burst = 40\n");
    assert_eq!(code, 64, "{err}");
    assert!(err.contains("needs --listen"), "{err}");
    assert!(err.contains("listen = "), "{err}");
}
