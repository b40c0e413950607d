//! The HTTP API promotes through the same gate.

use super::*;

#[test]
fn the_api_promotes_through_the_same_gate() {
    let repo = gated(GOLDEN_95);
    record(&repo, "x@1.0.0", "golden", 8, 2, &[]);
    let server = Server::start(&repo, &["--allow-local-writes"]);
    let url = server.url("/api/prompts/x@1.0.0/promote");
    let patch = |body: &Value| {
        let reply = send("PATCH", &url, None, body);
        (reply.status, reply.json())
    };
    let before = repo.snapshot();
    let (status, body) = patch(&json!({"environment": "production", "reason": "ship"}));
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "gate-not-met");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("cannot promote `x` 1.0.0 to production: its gate is not met")
            && message.contains("`golden` pass rate 80.0% (8/10) is below 95.0%"),
        "{body}"
    );
    assert_eq!(before, repo.snapshot());
    // `force: false` is no override.
    let (status, _) =
        patch(&json!({"environment": "production", "reason": "ship", "force": false}));
    assert_eq!(status, 409);
    assert_eq!(before, repo.snapshot());

    let (status, body) =
        patch(&json!({"environment": "production", "reason": "hotfix", "force": true}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["environment"], "production");
    assert_eq!(held(&repo, "production"), "1.0.0");
    assert_eq!(trailer(&repo, "Forced"), ["true"]);
    assert_eq!(
        trailer(&repo, "Gate-Unmet"),
        ["`golden` pass rate 80.0% (8/10) is below 95.0%"]
    );
    repo.fsck();
}
