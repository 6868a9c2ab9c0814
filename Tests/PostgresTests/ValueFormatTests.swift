import Foundation
import Postgres
import Testing

@Suite("Text formats, without a server", .timeLimit(.minutes(3)))
struct ValueFormatTests {
    @Test func dateIsSentAsISO8601UTCWithMicroseconds() {
        let date = Date(timeIntervalSince1970: 1_795_370_046.123456)
        #expect(date.postgresText == "2026-11-22T17:54:06.123456Z")
        #expect(Date(timeIntervalSince1970: 0).postgresText == "1970-01-01T00:00:00.000000Z")
        #expect(Date(timeIntervalSince1970: -0.5).postgresText == "1969-12-31T23:59:59.500000Z")
    }

    @Test(arguments: [
        ("2026-11-22 17:54:06.123456+00", "2026-11-22T17:54:06.123456Z"),
        ("2026-11-22 17:54:06+00", "2026-11-22T17:54:06.000000Z"),
        ("2026-11-22 17:54:06.5+00", "2026-11-22T17:54:06.500000Z"),
        ("2026-11-22 23:24:06.5+05:30", "2026-11-22T17:54:06.500000Z"),
        ("2026-11-22 12:54:06-05", "2026-11-22T17:54:06.000000Z"),
        ("2026-11-22T17:54:06.123456Z", "2026-11-22T17:54:06.123456Z"),
        ("2024-02-29 00:00:00", "2024-02-29T00:00:00.000000Z"),
    ])
    func postgresTimestampTextParses(text: String, expected: String) throws {
        #expect(try Date(postgresText: text).postgresText == expected)
    }

    @Test(arguments: ["", "infinity", "2026-11-22", "2026-13-01 00:00:00+00", "2026-11-22 17:54:06+", "garbage"])
    func malformedTimestampTextIsRejected(text: String) {
        #expect(throws: (any Error).self) { try Date(postgresText: text) }
    }

    @Test func uuidsAreSentInLowercaseCanonicalFormAndReadInEitherCase() throws {
        for _ in 0..<200 {
            let id = UUID()
            #expect(id.postgresText == id.uuidString.lowercased())
            #expect(try UUID(postgresText: id.postgresText) == id)
            #expect(try UUID(postgresText: id.uuidString) == id)
        }
        let fixed = try UUID(postgresText: "0123abcd-4567-89ef-ABCD-0123456789ab")
        #expect(fixed.uuidString == "0123ABCD-4567-89EF-ABCD-0123456789AB")
    }

    @Test(arguments: [
        "", "0123abcd-4567-89ef-abcd-0123456789a", "0123abcd-4567-89ef-abcd-0123456789abc",
        "0123abcd_4567-89ef-abcd-0123456789ab", "0123abcg-4567-89ef-abcd-0123456789ab",
        "0123abcd4567-89ef-abcd-0123456789ab-", "{0123abcd-4567-89ef-abcd-0123456789}",
    ])
    func malformedUUIDTextIsRejected(text: String) {
        #expect(throws: (any Error).self) { try UUID(postgresText: text) }
    }

    @Test func byteaIsSentAsLowercaseHex() {
        #expect([UInt8]([0x00, 0xAB, 0x10]).postgresText == "\\x00ab10")
        #expect(Data().postgresText == "\\x")
    }

    @Test func byteaEscapeOutputFormatDecodes() throws {
        #expect(try [UInt8](postgresText: "a\\\\b\\000\\377") == [0x61, 0x5C, 0x62, 0x00, 0xFF])
        #expect(throws: (any Error).self) { try [UInt8](postgresText: "\\x0") }
    }

    @Test func booleansAndSpecialDoublesUsePostgresSpelling() throws {
        #expect(true.postgresText == "true")
        #expect(false.postgresText == "false")
        #expect(try Bool(postgresText: "t"))
        #expect(try !Bool(postgresText: "f"))
        #expect(Double.infinity.postgresText == "Infinity")
        #expect((-Double.infinity).postgresText == "-Infinity")
        #expect(Double.nan.postgresText == "NaN")
    }

    @Test func errorDescriptionCarriesNoServerText() {
        let error = DatabaseError(
            kind: .server,
            sqlState: .uniqueViolation,
            constraint: "tenants_slug_key",
            table: "tenants",
            serverMessage: "duplicate key value violates unique constraint: Key (slug)=(secret-acme) already exists"
        )
        #expect(error.description == "DatabaseError(server, sqlstate 23505, constraint tenants_slug_key)")
        #expect(!error.isUnavailable)
    }

    @Test(arguments: [
        (DatabaseError(kind: .connectionFailed), true),
        (DatabaseError(kind: .connectionLost), true),
        (DatabaseError(kind: .poolTimeout), true),
        (DatabaseError(kind: .closed), true),
        (DatabaseError(kind: .server, sqlState: "08006"), true),
        (DatabaseError(kind: .server, sqlState: .adminShutdown), true),
        (DatabaseError(kind: .server, sqlState: .crashShutdown), true),
        (DatabaseError(kind: .server, sqlState: .cannotConnectNow), true),
        (DatabaseError(kind: .server, sqlState: .tooManyConnections), true),
        (DatabaseError(kind: .server, sqlState: .queryCanceled), false),
        (DatabaseError(kind: .server, sqlState: .serializationFailure), false),
        (DatabaseError(kind: .decoding), false),
    ])
    func unavailabilityIsClassifiedFromKindAndSQLState(error: DatabaseError, unavailable: Bool) {
        #expect(error.isUnavailable == unavailable)
    }

    @Test func configurationDescriptionHidesTheConnectionString() {
        let configuration = PostgresConfiguration(connectionString: "postgresql://app:hunter2@db.internal/catalog")
        #expect(!"\(configuration)".contains("hunter2"))
        #expect(!String(reflecting: configuration).contains("hunter2"))
    }
}
