/// Polls `condition` until it holds; false after `timeout` (so a lost race fails, never hangs).
func eventually(timeout: Duration = .seconds(10), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else {
            return false
        }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return true
}
