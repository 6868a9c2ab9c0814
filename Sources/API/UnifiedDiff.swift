/// Unified diffs (`--- a/path`, `+++ b/path`, `@@` hunks with 3 lines of context) between two sets
/// of files, as `diff -ruN` would print them with `a/` and `b/` prefixes.
enum UnifiedDiff {
    static let context = 3

    /// The diff of every path whose contents differ, in path order; `nil` contents mean the file
    /// is absent on that side.
    static func render(_ changes: [(path: String, old: [UInt8]?, new: [UInt8]?)]) -> String {
        var output = ""
        for change in changes.sorted(by: { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }) where change.old != change.new {
            output += file(path: change.path, old: change.old, new: change.new)
        }
        return output
    }

    static func file(path: String, old: [UInt8]?, new: [UInt8]?) -> String {
        let oldName = old == nil ? "/dev/null" : "a/\(path)"
        let newName = new == nil ? "/dev/null" : "b/\(path)"
        guard let oldText = String(validating: old ?? [], as: UTF8.self), let newText = String(validating: new ?? [], as: UTF8.self)
        else {
            return "Binary files \(oldName) and \(newName) differ\n"
        }
        let oldLines = lines(oldText)
        let newLines = lines(newText)
        var output = "--- \(oldName)\n+++ \(newName)\n"
        // A last line without a newline differs from the same text with one.
        let script = LineDiff.operations(oldLines.map(\.key), newLines.map(\.key))
        for hunk in hunks(script) {
            output += header(hunk, script)
            for operation in script[hunk] {
                switch operation {
                case .equal(let index, _): output += line(" ", oldLines[index])
                case .delete(let index): output += line("-", oldLines[index])
                case .insert(let index): output += line("+", newLines[index])
                }
            }
        }
        return output
    }

    struct Line {
        var text: Substring
        var terminated: Bool

        var key: String { terminated ? text + "\n" : String(text) }
    }

    /// The lines of `text`, each knowing whether a newline ended it.
    static func lines(_ text: String) -> [Line] {
        guard !text.isEmpty else { return [] }
        var parts = text.split(separator: "\n", omittingEmptySubsequences: false)
        let terminated = text.hasSuffix("\n")
        if terminated { parts.removeLast() }
        return parts.enumerated().map { index, part in
            Line(text: part, terminated: terminated || index < parts.count - 1)
        }
    }

    static func line(_ marker: String, _ line: Line) -> String {
        marker + line.text + "\n" + (line.terminated ? "" : "\\ No newline at end of file\n")
    }

    /// Ranges of the script that form hunks: each change with up to 3 equal lines around it,
    /// changes closer than 7 equal lines in one hunk.
    static func hunks(_ script: [LineDiff.Operation]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var index = 0
        while index < script.count {
            guard case .equal = script[index] else {
                var end = index
                // Extend over changes and short runs of equal lines.
                while end < script.count {
                    if case .equal = script[end] {
                        var run = end
                        while run < script.count, case .equal = script[run] { run += 1 }
                        if run == script.count || run - end > 2 * context { break }
                        end = run
                    } else {
                        end += 1
                    }
                }
                let start = max(0, index - context)
                let stop = min(script.count, end + context)
                if let last = ranges.last, last.upperBound >= start {
                    ranges[ranges.count - 1] = last.lowerBound..<stop
                } else {
                    ranges.append(start..<stop)
                }
                index = end
                continue
            }
            index += 1
        }
        return ranges
    }

    /// `@@ -start,count +start,count @@` (a start is the line before the hunk when its count is 0).
    static func header(_ hunk: Range<Int>, _ script: [LineDiff.Operation]) -> String {
        var oldStart: Int?
        var newStart: Int?
        var oldCount = 0
        var newCount = 0
        // Lines of each side before the hunk: counted from the script's prefix.
        var oldBefore = 0
        var newBefore = 0
        for operation in script[..<hunk.lowerBound] {
            switch operation {
            case .equal:
                oldBefore += 1
                newBefore += 1
            case .delete: oldBefore += 1
            case .insert: newBefore += 1
            }
        }
        for operation in script[hunk] {
            switch operation {
            case .equal(let old, let new):
                oldStart = oldStart ?? old
                newStart = newStart ?? new
                oldCount += 1
                newCount += 1
            case .delete(let old):
                oldStart = oldStart ?? old
                oldCount += 1
            case .insert(let new):
                newStart = newStart ?? new
                newCount += 1
            }
        }
        let oldFirst = oldCount == 0 ? oldBefore : (oldStart ?? 0) + 1
        let newFirst = newCount == 0 ? newBefore : (newStart ?? 0) + 1
        return "@@ -\(range(oldFirst, oldCount)) +\(range(newFirst, newCount)) @@\n"
    }

    static func range(_ start: Int, _ count: Int) -> String {
        count == 1 ? "\(start)" : "\(start),\(count)"
    }
}
