import Foundation
import Mustache
import Testing

@testable import Rendering

/// The renderer hands swift-mustache its values in a faster form (`RenderContext+Mustache.swift`);
/// these tests render the same templates with the plain values and expect the same bytes.
@Suite struct MustacheValuesTests {
    @Test(arguments: ["shared-three-tenants", "dedicated-custom-domain"])
    func everyTemplateGivesTheSameBytesAsWithPlainValues(example: String) throws {
        let renderer = try RenderingFixtures.renderer()
        let spec = try RenderingFixtures.example(example)
        let files = try renderer.renderFiles(spec)
        let inputs = try renderer.inputs(spec)
        #expect(files.map(\.path) == inputs.map(\.path))
        for (file, input) in zip(files, inputs) {
            let url = URL(fileURLWithPath: RenderingFixtures.templatesDirectory).appendingPathComponent(input.template + ".mustache")
            let template = try TemplateSet.compile(try String(contentsOf: url, encoding: .utf8), file: url.path)
            let plain = StackRenderer.normalizedBytes(template.render(input.values))
            #expect(file.contents == plain, "\(file.path)")
        }
    }

    @Test func transformsApplyToTheOriginalValues() throws {
        let text = """
            {{uppercased(stack_name)}} {{plusone(db_port)}} {{even(db_port)}} {{count(tenants)}} {{count(hostnames)}}
            {{#sorted(all_hostnames)}}{{.}},{{/sorted(all_hostnames)}} {{#first(tenants)}}{{slug}}{{/first(tenants)}}
            {{#reversed(hostnames)}}{{uppercased(host)}};{{/reversed(hostnames)}} {{#empty(tenants)}}none{{/empty(tenants)}}
            {{#tls_cert_manager}}{{capitalized(issuer)}}{{/tls_cert_manager}} {{#empty(base_domain)}}empty{{/empty(base_domain)}}
            """
        let template = try TemplateSet.compile(text, file: "transforms")
        let spec = try RenderingFixtures.dedicated
        let context = try StackRenderer.context(for: spec)
        let plain = template.render(context.values)
        let fast = template.render(RenderContext.Table(entries: context.mustacheValues))
        #expect(fast == plain)
        #expect(plain.hasPrefix("ACME-FLAGSHIP 5433 true 1 3\nerp.acme.example.com,flagship."))
    }
}
