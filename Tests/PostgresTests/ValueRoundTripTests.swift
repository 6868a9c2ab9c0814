import Foundation
import Postgres
import TestSupport
import Testing

@Suite("Values sent as parameters and read back", .timeLimit(.minutes(3)))
struct ValueRoundTripTests {
    @Test(arguments: [
        "plain",
        "it's a 'quoted' \"value\"; DROP TABLE users; --",
        "$1 $2 \\x00 backslash \\ and percent %",
        "",
        "ünïcödé 日本語 🚀",
        "line\nbreak\ttab",
    ])
    func stringParameterRoundTripsVerbatim(value: String) async throws {
        try await TestDatabase.withSchema(migrate: false) { pool, _ in
            let rows = try await pool.query("SELECT $1::text AS value, length($1::text) AS length", [value])
            let row = try #require(rows.first)
            #expect(try row.decode(String.self, "value") == value)
            #expect(try row.decode(Int.self, "length") == value.count)
        }
    }

    @Test func parameterIsStoredNotExecuted() async throws {
        try await TestDatabase.withSchema(migrate: false) { pool, _ in
            let hostile = "x'); DROP TABLE notes; --"
            try await pool.withConnection { connection in
                try connection.simpleQuery("CREATE TABLE notes (body text NOT NULL)")
                try connection.execute("INSERT INTO notes (body) VALUES ($1)", [hostile])
            }
            let rows = try await pool.query("SELECT body FROM notes")
            #expect(rows.count == 1)
            #expect(try rows.first?.decode(String.self, "body") == hostile)
        }
    }

    @Test func integersRoundTripAtTheirLimits() async throws {
        try await TestDatabase.withSchema(migrate: false) { pool, _ in
            let rows = try await pool.query(
                "SELECT $1::bigint AS big_max, $2::bigint AS big_min, $3::int AS int_max, $4::int AS int_min, $5::bigint AS int64",
                [Int.max, Int.min, Int32.max, Int32.min, Int64(-42)]
            )
            let row = try #require(rows.first)
            #expect(try row.decode(Int.self, "big_max") == Int.max)
            #expect(try row.decode(Int.self, "big_min") == Int.min)
            #expect(try row.decode(Int32.self, "int_max") == Int32.max)
            #expect(try row.decode(Int32.self, "int_min") == Int32.min)
            #expect(try row.decode(Int64.self, "int64") == -42)
        }
    }

    @Test func booleansRoundTrip() async throws {
        try await TestDatabase.withSchema(migrate: false) { pool, _ in
            let row = try #require(try await pool.query("SELECT $1::boolean AS yes, $2::boolean AS no", [true, false]).first)
            #expect(try row.decode(Bool.self, "yes") == true)
            #expect(try row.decode(Bool.self, "no") == false)
        }
    }

    @Test(arguments: [0.1, -1.5e300, Double.leastNonzeroMagnitude, 123_456.789, Double.infinity, -Double.infinity, Double.pi])
    func doublesRoundTripExactly(value: Double) async throws {
        try await TestDatabase.withSchema(migrate: false) { pool, _ in
            let row = try #require(try await pool.query("SELECT $1::float8 AS value", [value]).first)
            #expect(try row.decode(Double.self, "value") == value)
        }
    }

    @Test func notANumberRoundTrips() async throws {
        try await TestDatabase.withSchema(migrate: false) { pool, _ in
            let row = try #require(try await pool.query("SELECT $1::float8 AS value", [Double.nan]).first)
            #expect(try row.decode(Double.self, "value").isNaN)
        }
    }

    @Test func uuidRoundTripsAndIsSentLowercase() async throws {
        try await TestDatabase.withSchema(migrate: false) { pool, _ in
            let id = UUID()
            let row = try #require(try await pool.query("SELECT $1::uuid AS id, $1::text AS text", [id]).first)
            #expect(try row.decode(UUID.self, "id") == id)
            #expect(try row.decode(String.self, "text") == id.uuidString.lowercased())
        }
    }

    @Test(arguments: [
        Date(timeIntervalSince1970: 1_795_370_046.123456),
        Date(timeIntervalSince1970: 0),
        Date(timeIntervalSince1970: -1_000_000_000.000001),
        Date(timeIntervalSince1970: 4_102_444_800.999999),
    ])
    func datesRoundTripToTheMicrosecond(date: Date) async throws {
        try await TestDatabase.withSchema(migrate: false) { pool, _ in
            let row = try #require(try await pool.query("SELECT $1::timestamptz AS at", [date]).first)
            let decoded = try row.decode(Date.self, "at")
            #expect(abs(decoded.timeIntervalSince(date)) < 0.000_001)
            #expect(decoded.postgresText == date.postgresText)
        }
    }

    @Test func serverTimestampsDecodeInUTC() async throws {
        try await TestDatabase.withSchema(migrate: false) { pool, _ in
            let row = try #require(
                try await pool.query(
                    "SELECT timestamptz '2026-11-22 18:54:06.123456+01' AS fractional, timestamptz '2026-11-22 17:54:06Z' AS whole, current_setting('TimeZone') AS zone"
                ).first
            )
            #expect(try row.decode(String.self, "zone") == "UTC")
            #expect(try row.decode(Date.self, "fractional").postgresText == "2026-11-22T17:54:06.123456Z")
            #expect(try row.decode(Date.self, "whole").postgresText == "2026-11-22T17:54:06.000000Z")
        }
    }

    @Test func byteaRoundTripsEveryByteValue() async throws {
        try await TestDatabase.withSchema(migrate: false) { pool, _ in
            let bytes = (0...255).map { UInt8($0) } + [0, 0, 255]
            let row = try #require(
                try await pool.query("SELECT $1::bytea AS raw, $2::bytea AS data, length($1::bytea) AS length", [bytes, Data(bytes)])
                    .first
            )
            #expect(try row.decode([UInt8].self, "raw") == bytes)
            #expect(try row.decode(Data.self, "data") == Data(bytes))
            #expect(try row.decode(Int.self, "length") == bytes.count)
        }
    }

    @Test func substringIsBoundAsText() async throws {
        try await TestDatabase.withSchema(migrate: false) { pool, _ in
            let text = "prefix:value"
            let part = text.dropFirst("prefix:".count)
            let row = try #require(try await pool.query("SELECT $1::text AS value", [part]).first)
            #expect(try row.decode(String.self, "value") == "value")
        }
    }

    @Test func nilParameterIsSQLNull() async throws {
        try await TestDatabase.withSchema(migrate: false) { pool, _ in
            let missing: String? = nil
            let row = try #require(
                try await pool.query("SELECT $1::text AS a, $2::int AS b, $1::text IS NULL AS a_is_null", [missing, nil]).first
            )
            #expect(row.isNull("a"))
            #expect(row.isNull("b"))
            #expect(try row.decode(Bool.self, "a_is_null"))
            #expect(try row.decodeIfPresent(String.self, "a") == nil)
            #expect(try row.decodeIfPresent(Int.self, "b") == nil)
        }
    }

    @Test func decodingNullAsNonOptionalThrowsDecodingError() async throws {
        try await TestDatabase.withSchema(migrate: false) { pool, _ in
            let row = try #require(try await pool.query("SELECT NULL::text AS value, 'abc' AS word").first)
            let nullError = #expect(throws: DatabaseError.self) { try row.decode(String.self, "value") }
            #expect(nullError?.kind == .decoding)
            let typeError = #expect(throws: DatabaseError.self) { try row.decode(Int.self, "word") }
            #expect(typeError?.kind == .decoding)
            let missingError = #expect(throws: DatabaseError.self) { try row.decode(Int.self, "nope") }
            #expect(missingError?.kind == .decoding)
            #expect(missingError?.column == "nope")
        }
    }

    @Test func rowsExposeColumnsCountAndOrder() async throws {
        try await TestDatabase.withSchema(migrate: false) { pool, _ in
            let rows = try await pool.query("SELECT n, n * 2 AS doubled FROM generate_series(1, 5) AS n ORDER BY n")
            #expect(rows.columns == ["n", "doubled"])
            #expect(rows.count == 5)
            #expect(rows.affectedRows == 5)
            #expect(try rows.map { try $0.decode(Int.self, "doubled") } == [2, 4, 6, 8, 10])
        }
    }

    @Test func textParameterWithNulByteIsRejectedNotTruncated() async throws {
        try await TestDatabase.withSchema(migrate: false) { pool, _ in
            let error = await #expect(throws: DatabaseError.self) {
                try await pool.query("SELECT $1::text AS value", ["before\0after"])
            }
            #expect(error?.sqlState == SQLState(rawValue: "22021"))
        }
    }
}
