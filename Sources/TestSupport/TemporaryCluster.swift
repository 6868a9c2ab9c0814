import Dispatch
public import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A throwaway PostgreSQL cluster for tests that stop and start the server: `initdb` into a
/// temporary folder, listening on 127.0.0.1 at a free port, trust authentication for `postgres`.
///
/// When the tests run as root (as in containers), the server binaries run as the `postgres`
/// user through `runuser`, since PostgreSQL refuses to run as root.
public final class TemporaryCluster: Sendable {
    public let directory: URL
    public let port: Int
    private let binaries: URL

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public enum StopMode: String, Sendable {
        case smart, fast, immediate
    }

    /// `postgresql://postgres@127.0.0.1:<port>/postgres`
    public var connectionString: String {
        "postgresql://postgres@127.0.0.1:\(port)/postgres"
    }

    private var dataDirectory: String { directory.appendingPathComponent("data").path }
    private var logFile: String { directory.appendingPathComponent("server.log").path }

    private init(directory: URL, port: Int, binaries: URL) {
        self.directory = directory
        self.port = port
        self.binaries = binaries
    }

    /// Creates and starts a cluster. Call ``destroy()`` when done.
    public static func start() async throws -> TemporaryCluster {
        let binaries = try findBinaries()
        // As root the folder must be reachable by the postgres user, which a private TMPDIR may not be.
        let parent = getuid() == 0 ? "/tmp" : NSTemporaryDirectory()
        var template = Array(URL(fileURLWithPath: parent).appendingPathComponent("provisioner-pg-XXXXXX").path.utf8CString)
        guard let created = template.withUnsafeMutableBufferPointer({ buffer in buffer.baseAddress.flatMap(mkdtemp) }) else {
            throw Failure(description: "could not create a temporary directory for the cluster")
        }
        let directory = URL(fileURLWithPath: String(cString: created))
        if getuid() == 0 {
            guard let account = getpwnam("postgres") else {
                throw Failure(description: "running as root but there is no postgres user to run the server as")
            }
            guard chown(directory.path, account.pointee.pw_uid, account.pointee.pw_gid) == 0 else {
                throw Failure(description: "could not hand \(directory.path) to the postgres user")
            }
        }
        let cluster = TemporaryCluster(directory: directory, port: try freePort(), binaries: binaries)
        do {
            try await cluster.runServerCommand(
                "initdb",
                ["-D", cluster.dataDirectory, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]
            )
            try await cluster.startServer()
        } catch {
            await cluster.destroy()
            throw error
        }
        return cluster
    }

    /// Starts the server again after ``stop(mode:)``, on the same port.
    public func startServer() async throws {
        let options =
            "-p \(port) -c listen_addresses=127.0.0.1 -c unix_socket_directories=\(dataDirectory) -c fsync=off"
        try await runServerCommand("pg_ctl", ["-D", dataDirectory, "-l", logFile, "-o", options, "-w", "-t", "30", "start"])
    }

    /// Stops the server; `.immediate` kills it without a clean shutdown, like a crash.
    public func stop(mode: StopMode = .fast) async throws {
        try await runServerCommand("pg_ctl", ["-D", dataDirectory, "-m", mode.rawValue, "-w", "stop"])
    }

    /// Stops the server if it runs and removes the folder.
    public func destroy() async {
        try? await runServerCommand("pg_ctl", ["-D", dataDirectory, "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(at: directory)
    }

    // MARK: - Processes

    private func runServerCommand(_ tool: String, _ arguments: [String]) async throws {
        let executable = binaries.appendingPathComponent(tool).path
        let output = directory.appendingPathComponent("\(tool).out")
        if getuid() == 0 {
            try await Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", executable] + arguments, output: output)
        } else {
            try await Self.run(executable, arguments, output: output)
        }
    }

    /// Runs a process to completion; its output goes to `output`.
    ///
    /// Spawned with `posix_spawn` and reaped with `waitpid` on a thread of its own rather than with
    /// Foundation's `Process`, which on Linux notices termination through a descriptor that the
    /// daemonized server inherits, so `pg_ctl start` would never be seen to finish.
    private static func run(_ executable: String, _ arguments: [String], output: URL) async throws {
        let descriptor = open(output.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw Failure(description: "could not create \(output.path)")
        }
        defer { close(descriptor) }

        #if canImport(Darwin)
        var actions: posix_spawn_file_actions_t? = nil
        #else
        var actions = posix_spawn_file_actions_t()
        #endif
        guard posix_spawn_file_actions_init(&actions) == 0 else {
            throw Failure(description: "posix_spawn_file_actions_init failed")
        }
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, descriptor, 1)
        posix_spawn_file_actions_adddup2(&actions, descriptor, 2)

        let argumentStrings = ([executable] + arguments).map { strdup($0) }
        defer {
            for string in argumentStrings {
                free(string)
            }
        }
        guard argumentStrings.allSatisfy({ $0 != nil }) else {
            throw Failure(description: "out of memory spawning \(executable)")
        }
        var argv = argumentStrings + [nil]
        var pid = pid_t()
        let spawned = posix_spawn(&pid, executable, &actions, nil, &argv, environ)
        guard spawned == 0 else {
            throw Failure(description: "could not start \(executable): error \(spawned)")
        }

        let child = pid
        // Reaped on a thread of its own: a blocked dispatch worker could starve
        // the cooperative pool on a two-core machine.
        let status: Int32 = await withCheckedContinuation { continuation in
            let reaper = Thread {
                var status: Int32 = 0
                while waitpid(child, &status, 0) == -1 && errno == EINTR {}
                continuation.resume(returning: status)
            }
            reaper.start()
        }
        // Exited normally (low 7 bits zero) with exit code 0.
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            throw Failure(
                description: "\(URL(fileURLWithPath: executable).lastPathComponent) \(arguments.joined(separator: " ")) "
                    + "failed (wait status \(status)): \(text.suffix(2000))"
            )
        }
    }

    /// PROVISIONER_POSTGRES_BIN, else the newest /usr/lib/postgresql/<version>/bin, else a folder on PATH
    /// holding `initdb`.
    private static func findBinaries() throws -> URL {
        let fileManager = FileManager.default
        if let configured = ProcessInfo.processInfo.environment["PROVISIONER_POSTGRES_BIN"], !configured.isEmpty {
            return URL(fileURLWithPath: configured)
        }
        let debianRoot = "/usr/lib/postgresql"
        if let versions = try? fileManager.contentsOfDirectory(atPath: debianRoot) {
            let newest = versions.compactMap { Int($0) }.sorted().last { version in
                fileManager.isExecutableFile(atPath: "\(debianRoot)/\(version)/bin/initdb")
            }
            if let newest {
                return URL(fileURLWithPath: "\(debianRoot)/\(newest)/bin")
            }
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for folder in path.split(separator: ":") where fileManager.isExecutableFile(atPath: "\(folder)/initdb") {
            return URL(fileURLWithPath: String(folder))
        }
        throw Failure(
            description: "PostgreSQL server binaries (initdb, pg_ctl) not found: install postgresql or set PROVISIONER_POSTGRES_BIN"
        )
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
    private static func freePort() throws -> Int {
        #if canImport(Glibc) || canImport(Musl)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else {
            throw Failure(description: "could not open a socket to find a free port")
        }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(descriptor, socketAddress, length) == 0
                    && getsockname(descriptor, socketAddress, &length) == 0
            }
        }
        guard bound else {
            throw Failure(description: "could not bind a socket to find a free port")
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
