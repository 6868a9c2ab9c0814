import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs the `git` CLI against one repository directory (`git -C <path>`), feeding stdin and
/// collecting stdout and stderr concurrently so that neither pipe can fill up and stall git.
struct GitCommand: Sendable {
    /// The repository (bare or not) every command runs in.
    let directory: URL
    /// The `git` executable; found on `PATH` when not absolute.
    let executable: String
    /// Extra environment for every command (identity, dates, the temporary index).
    let environment: [String: String]

    struct Output: Sendable {
        var status: Int32
        var stdout: [UInt8]
        var stderr: [UInt8]

        var text: String { String(decoding: stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
        var errorText: String { String(decoding: stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    init(directory: URL, executable: String = "git", environment: [String: String] = [:]) {
        self.directory = directory
        self.executable = executable
        self.environment = environment
        // A git that exits before reading all of its stdin must not kill this process.
        _ = Self.ignoreBrokenPipes
    }

    private static let ignoreBrokenPipes: Void = {
        _ = signal(SIGPIPE, SIG_IGN)
    }()

    /// The same repository with more environment.
    func adding(_ extra: [String: String]) -> GitCommand {
        GitCommand(directory: directory, executable: executable, environment: environment.merging(extra) { $1 })
    }

    /// Runs `git -C <directory> <arguments>`; any exit status is returned.
    func run(_ arguments: [String], input: [UInt8]? = nil) throws(GitOpsError) -> Output {
        let process = Process()
        if executable.hasPrefix("/") {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = ["-C", directory.path] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [executable, "-C", directory.path] + arguments
        }
        var environment = ProcessInfo.processInfo.environment
        environment["GIT_TERMINAL_PROMPT"] = "0"
        environment["LC_ALL"] = "C"
        for (name, value) in self.environment { environment[name] = value }
        process.environment = environment
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        do {
            try process.run()
        } catch {
            throw .gitUnavailable
        }
        let collected = CollectedOutput()
        let group = DispatchGroup()
        let stdoutReader = stdout.fileHandleForReading
        let stderrReader = stderr.fileHandleForReading
        DispatchQueue.global().async(group: group) {
            collected.setStdout((try? stdoutReader.readToEnd()).map { [UInt8]($0 ?? Data()) } ?? [])
        }
        DispatchQueue.global().async(group: group) {
            collected.setStderr((try? stderrReader.readToEnd()).map { [UInt8]($0 ?? Data()) } ?? [])
        }
        let writer = stdin.fileHandleForWriting
        if let input, !input.isEmpty {
            try? writer.write(contentsOf: input)
        }
        try? writer.close()
        group.wait()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: collected.stdout, stderr: collected.stderr)
    }

    /// Runs a command that must succeed; its trimmed stdout.
    @discardableResult
    func check(_ arguments: [String], input: [UInt8]? = nil) throws(GitOpsError) -> String {
        let output = try run(arguments, input: input)
        guard output.status == 0 else {
            throw .commandFailed(command: arguments.first ?? "", status: output.status, message: output.errorText)
        }
        return output.text
    }
}

/// The two output streams of one command, filled from two reader threads.
private final class CollectedOutput: @unchecked Sendable {
    private let lock = NSLock()
    private var out: [UInt8] = []
    private var err: [UInt8] = []

    func setStdout(_ bytes: [UInt8]) { lock.withLock { out = bytes } }
    func setStderr(_ bytes: [UInt8]) { lock.withLock { err = bytes } }
    var stdout: [UInt8] { lock.withLock { out } }
    var stderr: [UInt8] { lock.withLock { err } }
}
