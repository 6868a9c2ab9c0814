import API
import Foundation
import JWT
import Logging
import Synchronization

/// Writes one JSON object per line to standard error: time, level, message,
/// logger label and metadata (dotted keys as given).
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    private static let output = Mutex(())

    init(label: String) {
        self.label = label
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var object: [String: JSONValue] = [:]
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        for (key, value) in merged { object[key] = Self.json(value) }
        object["time"] = .string(Timestamp.format(Date()))
        object["level"] = .string(event.level.rawValue)
        object["message"] = .string(event.message.description)
        object["logger"] = .string(label)
        var line = JSONCoding.encode(.object(object))
        line.append(UInt8(ascii: "\n"))
        Self.output.withLock { _ in
            FileHandle.standardError.write(Data(line))
        }
    }

    static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let text): .string(text)
        case .stringConvertible(let convertible): .string(convertible.description)
        case .array(let values): .array(values.map(json))
        case .dictionary(let values): .object(values.mapValues(json))
        }
    }
}

enum LoggingSetup {
    /// Bootstraps swift-log once per process: JSON lines or plain text, at the configured level.
    static func bootstrap(format: String, level: String) -> Logger {
        let logLevel = Logger.Level(rawValue: level) ?? .info
        LoggingSystem.bootstrap { label in
            if format == "text" {
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = logLevel
                return handler
            }
            var handler = JSONLogHandler(label: label)
            handler.logLevel = logLevel
            return handler
        }
        return Logger(label: "provisioner")
    }
}
