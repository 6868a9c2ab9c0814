import Synchronization

/// Runs a job's handler in the task that performs the job (no task of its own per job), and lets
/// an interruption cancel that task while, and only while, the handler runs.
///
/// The task is reachable from outside only through `UnsafeCurrentTask`, which must not outlive
/// the task: it is kept under a lock, set before the handler starts and cleared, under the same
/// lock, before ``run(_:_:)`` returns, and ``cancel()`` uses it only under that lock.
final class HandlerRun: Sendable {
    private struct Running: @unchecked Sendable {
        let task: UnsafeCurrentTask
    }

    private let running = Mutex<Running?>(nil)

    func run(_ handler: any JobHandler, _ context: JobContext) async -> Result<Void, any Error> {
        withUnsafeCurrentTask { task in
            if let task {
                running.withLock { $0 = Running(task: task) }
            }
        }
        // An interruption before this point cancels at once.
        context.onInterrupt { _ in self.cancel() }
        let result: Result<Void, any Error>
        do {
            try await handler.run(context)
            result = .success(())
        } catch {
            result = .failure(error)
        }
        running.withLock { $0 = nil }
        return result
    }

    /// Cancels the task running the handler, if the handler still runs. Cancelling an already
    /// cancelled task does nothing (its cancellation handlers ran the first time).
    func cancel() {
        running.withLock { $0?.task.cancel() }
    }
}
