/// Myers' O((N+M)D) shortest edit script between two sequences of lines.
enum LineDiff {
    enum Operation: Equatable {
        /// Line `old` of the old sequence equals line `new` of the new one.
        case equal(old: Int, new: Int)
        case delete(old: Int)
        case insert(new: Int)
    }

    /// The edit script turning `old` into `new`, in order: deletions before insertions at each
    /// change, as `diff -u` prints them.
    static func operations<Line: Equatable>(_ old: [Line], _ new: [Line]) -> [Operation] {
        let n = old.count
        let m = new.count
        let maximum = n + m
        guard maximum > 0 else { return [] }
        let offset = maximum + 1
        var frontier = [Int](repeating: 0, count: 2 * maximum + 3)
        var trace: [[Int]] = []
        var found = false
        for depth in 0...maximum {
            trace.append(frontier)
            for diagonal in stride(from: -depth, through: depth, by: 2) {
                var x: Int
                if diagonal == -depth || (diagonal != depth && frontier[offset + diagonal - 1] < frontier[offset + diagonal + 1]) {
                    x = frontier[offset + diagonal + 1]
                } else {
                    x = frontier[offset + diagonal - 1] + 1
                }
                var y = x - diagonal
                while x < n, y < m, old[x] == new[y] {
                    x += 1
                    y += 1
                }
                frontier[offset + diagonal] = x
                if x >= n, y >= m {
                    found = true
                    break
                }
            }
            if found { break }
        }
        // Walk the trace back from (n, m) to (0, 0).
        var script: [Operation] = []
        var x = n
        var y = m
        for depth in stride(from: trace.count - 1, through: 0, by: -1) {
            let saved = trace[depth]
            let diagonal = x - y
            let previousDiagonal: Int
            if diagonal == -depth || (diagonal != depth && saved[offset + diagonal - 1] < saved[offset + diagonal + 1]) {
                previousDiagonal = diagonal + 1
            } else {
                previousDiagonal = diagonal - 1
            }
            let previousX = depth == 0 ? 0 : saved[offset + previousDiagonal]
            let previousY = depth == 0 ? 0 : previousX - previousDiagonal
            while x > previousX, y > previousY {
                x -= 1
                y -= 1
                script.append(.equal(old: x, new: y))
            }
            if depth > 0 {
                if x == previousX {
                    script.append(.insert(new: previousY))
                } else {
                    script.append(.delete(old: previousX))
                }
            }
            x = previousX
            y = previousY
        }
        return script.reversed()
    }
}
