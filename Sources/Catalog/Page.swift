/// One page of a list ordered by slug, with the slug to continue after.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    /// The last slug of this page when more items follow; `nil` on the last page.
    public var nextAfter: String?

    public init(items: [Item], nextAfter: String?) {
        self.items = items
        self.nextAfter = nextAfter
    }

    /// Builds a page from `limit + 1` fetched items: the extra one only says that more follow.
    static func from(_ fetched: [Item], limit: Int, slug: (Item) -> String) -> Page {
        guard fetched.count > limit else { return Page(items: fetched, nextAfter: nil) }
        let items = Array(fetched.prefix(limit))
        return Page(items: items, nextAfter: items.last.map(slug))
    }
}

/// Where a list starts and how long a page is.
public struct PageRequest: Sendable {
    public var after: String?
    public var limit: Int

    public init(after: String? = nil, limit: Int = 50) {
        self.after = after
        self.limit = limit
    }
}
