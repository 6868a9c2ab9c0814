import ArgumentParser
import Rendering

extension TemplateSet {
    /// The stack templates for this process (`PROVISIONER_TEMPLATES_DIR`, else the repository's
    /// `templates/`), every one compiled; a missing or broken template stops start-up with an error
    /// naming the file.
    static func loadForStartup(environment: [String: String]) throws -> TemplateSet {
        guard let directory = TemplateSet.defaultDirectory(environment: environment) else {
            throw ValidationError("no stack templates: set PROVISIONER_TEMPLATES_DIR to the template directory")
        }
        do {
            return try TemplateSet.load(directory: directory)
        } catch {
            throw ValidationError("PROVISIONER_TEMPLATES_DIR: \(error)")
        }
    }
}
